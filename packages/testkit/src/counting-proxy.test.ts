import { createHash, randomBytes } from "node:crypto";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startCountingProxy, type CountingProxy } from "./counting-proxy.js";
import { freePort } from "./free-port.js";

/** Echo server: answers method, url, Host, body digest and length; GET /big streams 5 MiB. */
let target: Server;
let targetUrl: string;
const big = randomBytes(5 * 1024 * 1024);

beforeAll(async () => {
  target = createServer((req, res) => {
    if (req.url === "/big") {
      res.writeHead(200, { "content-length": big.length });
      res.end(big);
      return;
    }
    const hash = createHash("sha256");
    let length = 0;
    req.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on("end", () => {
      res.writeHead(
        201,
        "Made",
        [
          ["x-echo", "1"],
          ["set-cookie", "a=1"],
          ["set-cookie", "b=2"],
        ].flat(),
      );
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          host: req.headers.host,
          sha256: hash.digest("hex"),
          length,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});
afterAll(async () => {
  target.closeAllConnections();
  await new Promise((resolve) => target.close(resolve));
});

let proxy: CountingProxy;
afterEach(async () => {
  await proxy?.close();
});

interface Answer {
  status: number;
  message: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

function call(
  url: string,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          message: res.statusMessage!,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("startCountingProxy", () => {
  it("forwards method, path, Host and a streamed body unchanged, both ways", async () => {
    proxy = await startCountingProxy(targetUrl);
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const answer = await call(proxy.url, "PUT", "/default/a%20b?x-id=PutObject", body, { host: "signed.example:9000" });
    expect(answer.status).toBe(201);
    expect(answer.message).toBe("Made");
    expect(answer.headers["x-echo"]).toBe("1");
    expect(answer.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    const echoed = JSON.parse(answer.body.toString()) as Record<string, unknown>;
    expect(echoed).toEqual({
      method: "PUT",
      url: "/default/a%20b?x-id=PutObject",
      host: "signed.example:9000",
      sha256: createHash("sha256").update(body).digest("hex"),
      length: body.length,
    });
    const download = await call(proxy.url, "GET", "/big");
    expect(download.body.equals(big)).toBe(true);
  });

  it("counts requests by method and path, and resets", async () => {
    proxy = await startCountingProxy(targetUrl);
    await call(proxy.url, "GET", "/default/a?x-id=GetObject");
    await call(proxy.url, "GET", "/default/a");
    await call(proxy.url, "HEAD", "/default/a");
    await call(proxy.url, "PUT", "/default/b", Buffer.from("x"));
    expect(proxy.counts()).toEqual({ "GET /default/a": 2, "HEAD /default/a": 1, "PUT /default/b": 1 });
    expect(proxy.count("GET")).toBe(2);
    expect(proxy.count("GET", "/default/a")).toBe(2);
    expect(proxy.count("GET", "/default/b")).toBe(0);
    expect(proxy.requests[0]).toMatchObject({ method: "GET", path: "/default/a", query: "?x-id=GetObject" });
    expect(proxy.requests[0]?.headers["connection"]).toBe("close");
    proxy.reset();
    expect(proxy.requests).toEqual([]);
    expect(proxy.counts()).toEqual({});
  });

  it("answers a set status without asking the target, and counts it", async () => {
    proxy = await startCountingProxy(targetUrl);
    proxy.setMode({ kind: "status", status: 503, headers: { "retry-after": "1" }, body: "down" });
    const answer = await call(proxy.url, "PUT", "/default/a", Buffer.from("payload"));
    expect(answer.status).toBe(503);
    expect(answer.headers["retry-after"]).toBe("1");
    expect(answer.body.toString()).toBe("down");
    proxy.setMode({ kind: "pass" });
    expect((await call(proxy.url, "GET", "/default/a")).status).toBe(201);
    expect(proxy.count("PUT")).toBe(1);
    expect(proxy.count("GET")).toBe(1);
  });

  it("resets connections, black-holes requests, delays them", async () => {
    proxy = await startCountingProxy(targetUrl);
    proxy.setMode({ kind: "reset" });
    await expect(call(proxy.url, "GET", "/a")).rejects.toMatchObject({ code: "ECONNRESET" });

    proxy.setMode({ kind: "black-hole" });
    const held = call(proxy.url, "GET", "/b");
    await expect.poll(() => proxy.count("GET", "/b")).toBe(1);
    expect(proxy.openConnections).toBe(1);

    proxy.setMode({ kind: "delay", ms: 50 });
    const started = performance.now();
    expect((await call(proxy.url, "GET", "/c")).status).toBe(201);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);

    // close() ends even the held request.
    await proxy.close();
    await expect(held).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(proxy.openConnections).toBe(0);
  });

  it("rejects impossible modes, naming the value", async () => {
    proxy = await startCountingProxy(targetUrl);
    expect(() => proxy.setMode({ kind: "delay", ms: -1 })).toThrow(/-1/);
    expect(() => proxy.setMode({ kind: "status", status: 99 })).toThrow(/99/);
    expect(proxy.mode).toEqual({ kind: "pass" });
  });

  it("answers 502 when the target refuses connections", async () => {
    proxy = await startCountingProxy(`http://127.0.0.1:${await freePort()}`);
    const answer = await call(proxy.url, "PUT", "/x", Buffer.from("body"));
    expect(answer.status).toBe(502);
    expect(proxy.count("PUT", "/x")).toBe(1);
  });

  it("drops the upstream request when the client goes away mid-download", async () => {
    proxy = await startCountingProxy(targetUrl);
    await new Promise<void>((resolve, reject) => {
      const req = request(`${proxy.url}/big`, { agent: false }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", reject);
      req.end();
    });
    await expect.poll(() => proxy.openConnections).toBe(0);
    // The proxy still serves.
    expect((await call(proxy.url, "GET", "/after")).status).toBe(201);
  });
});
