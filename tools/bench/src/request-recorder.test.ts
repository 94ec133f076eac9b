import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startRequestRecorder, type RequestRecorder } from "./request-recorder.js";

describe("request recorder", () => {
  let target: Server | undefined;
  let recorder: RequestRecorder | undefined;
  afterEach(async () => {
    await recorder?.close();
    await new Promise((r) => (target ? target.close(r) : r(undefined)));
  });

  it("forwards requests unchanged and writes down when each came, what it was answered and when", async () => {
    target = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () =>
        res
          .writeHead(req.url?.startsWith("/fail") ? 503 : 200, { "x-host": req.headers.host ?? "" })
          .end(`${req.method} ${req.url} ${body}`),
      );
    });
    await new Promise<void>((r) => target!.listen(0, "127.0.0.1", r));
    recorder = await startRequestRecorder(`http://127.0.0.1:${(target.address() as AddressInfo).port}`);
    const before = Date.now();
    const ok = await fetch(`${recorder.url}/default/a?x=1`, { method: "PUT", body: "hello" });
    expect(ok.status).toBe(200);
    // The client's Host reaches the target unchanged (S3 signs it).
    expect(ok.headers.get("x-host")).toBe(new URL(recorder.url).host);
    expect(await ok.text()).toBe("PUT /default/a?x=1 hello");
    const failed = await fetch(`${recorder.url}/fail/b`);
    expect(failed.status).toBe(503);
    await failed.text();
    expect(recorder.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ["PUT", "/default/a", 200],
      ["GET", "/fail/b", 503],
    ]);
    for (const r of recorder.requests) {
      expect(r.at).toBeGreaterThanOrEqual(before);
      expect(r.answeredAt).toBeGreaterThanOrEqual(r.at);
    }
  });

  it("answers 502 when the target is gone, and refuses a target that is not http:", async () => {
    target = createServer();
    await new Promise<void>((r) => target!.listen(0, "127.0.0.1", r));
    const port = (target.address() as AddressInfo).port;
    await new Promise((r) => target!.close(r));
    target = undefined;
    recorder = await startRequestRecorder(`http://127.0.0.1:${port}`);
    expect((await fetch(`${recorder.url}/x`)).status).toBe(502);
    expect(recorder.requests[0]).toMatchObject({ path: "/x", status: undefined, answeredAt: undefined });
    await expect(startRequestRecorder("https://127.0.0.1:1")).rejects.toThrow(RangeError);
  });
});
