import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { directS3Client, eventually, scrapeSample } from "@breakwater/testkit";
import { httpRequest, rawExchange, startStack, statusOf, type Stack } from "./__fixtures__/stack.js";

const MAX_PUT = 1024 * 1024;
const TOKEN = "s3cret-admin";

/**
 * Every line of the object API (issue 6) against gateway → cache-store →
 * s3rver, with the near-cache off so that the cache-store's own Cache-Status
 * shows (the near-cache has its own file).
 */
describe("object API over the real stack", () => {
  let stack: Stack;
  let base: string;
  let port: number;

  beforeAll(async () => {
    stack = await startStack({
      gatewayEnv: { GATEWAY_CACHE_MAX_BYTES: "0", MAX_PUT_BYTES: String(MAX_PUT), BW_ADMIN_TOKEN: TOKEN },
    });
    base = stack.base;
    port = stack.gateways[0]!.httpPort;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const put = (key: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}/${key}`, { method: "PUT", body, headers });

  /**
   * PutObject calls the cache-store has finished, whatever their outcome. The
   * gateway counts a request when its client's connection closes, which for a
   * client that leaves mid-body is before the upload's upstream call has
   * ended: what became of such an upload shows only once this has moved on.
   */
  const putsFinished = async (): Promise<number> =>
    (await scrapeSample(stack.cacheStore.httpUrl, "rpc_server_duration_seconds_count", {
      method: "/breakwater.cache.v1.CacheService/PutObject",
    })) ?? 0;
  const putsFinishedReach = (n: number): Promise<number> =>
    eventually(async () => (await putsFinished()) >= n, { what: `${n} PutObject calls finished at the cache-store` });

  describe("headers", () => {
    const headersTitle =
      "GET answers Content-Type, Content-Length, ETag, Last-Modified, Accept-Ranges, x-amz-meta-*; " +
      "Cache-Status hit after a write-through, fwd=miss after a purge";
    it(headersTitle, async () => {
      const body = randomBytes(5000);
      const stored = await put("h/one.bin", body, {
        "content-type": "image/png",
        "x-amz-meta-color": "red",
        "x-amz-meta-Owner": "Ann",
      });
      expect(stored.status).toBe(200);
      const etag = stored.headers.get("etag")!;
      expect(etag).toMatch(/^"[^"]+"$/);
      expect(await stored.json()).toMatchObject({ bucket: "default", key: "h/one.bin", etag, size: 5000 });

      const first = await fetch(`${base}/h/one.bin`);
      expect(first.status).toBe(200);
      expect(first.headers.get("content-type")).toBe("image/png");
      expect(first.headers.get("content-length")).toBe("5000");
      expect(first.headers.get("etag")).toBe(etag);
      expect(first.headers.get("accept-ranges")).toBe("bytes");
      expect(first.headers.get("x-amz-meta-color")).toBe("red");
      expect(first.headers.get("x-amz-meta-owner")).toBe("Ann");
      expect(first.headers.get("cache-status")).toBe("breakwater; hit"); // the cache-store kept what was written
      const lastModified = first.headers.get("last-modified")!;
      expect(new Date(lastModified).toUTCString()).toBe(lastModified); // an IMF-fixdate
      expect(Buffer.from(await first.arrayBuffer()).equals(body)).toBe(true);

      const purge = await httpRequest(port, "PURGE", "/objects/default/h/one.bin", {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(purge.status).toBe(200);
      const fromStorage = await fetch(`${base}/h/one.bin`);
      expect(fromStorage.headers.get("cache-status")).toBe("breakwater; fwd=miss");
      for (const name of [
        "content-type",
        "content-length",
        "etag",
        "accept-ranges",
        "x-amz-meta-color",
        "x-amz-meta-owner",
      ]) {
        expect(fromStorage.headers.get(name)).toBe(first.headers.get(name));
      }
      expect(Buffer.from(await fromStorage.arrayBuffer()).equals(body)).toBe(true);
    });

    it("HEAD answers the same headers without a body", async () => {
      await put("h/head.txt", "twelve bytes", { "content-type": "text/plain", "x-amz-meta-a": "b" });
      const head = await httpRequest(port, "HEAD", "/objects/default/h/head.txt");
      expect(head.status).toBe(200);
      expect(head.headers["content-length"]).toBe("12");
      expect(head.headers["content-type"]).toBe("text/plain");
      expect(head.headers["x-amz-meta-a"]).toBe("b");
      expect(head.headers["accept-ranges"]).toBe("bytes");
      expect(head.headers.etag).toMatch(/^"/);
      const lastModified = head.headers["last-modified"]!;
      expect(new Date(lastModified).toUTCString()).toBe(lastModified); // an IMF-fixdate
      expect(head.body.length).toBe(0);
    });

    it("keys with slashes, spaces and UTF-8 are percent-decoded once and stored under that name", async () => {
      const key = "dir/with space/été 100%.txt";
      const path = `/objects/default/${key.split("/").map(encodeURIComponent).join("/")}`;
      expect((await httpRequest(port, "PUT", path, { body: "unicode" })).status).toBe(200);
      const got = await httpRequest(port, "GET", path);
      expect(got.body.toString()).toBe("unicode");
      const s3 = directS3Client(stack.s3);
      const direct = await s3.send(new GetObjectCommand({ Bucket: "default", Key: key }));
      expect(await direct.Body!.transformToString()).toBe("unicode");
      s3.destroy();
    });
  });

  describe("conditional requests (RFC 9110 13)", () => {
    let etag: string;
    let lastModified: string;
    beforeAll(async () => {
      etag = (await put("c/obj.txt", "conditional body")).headers.get("etag")!;
      lastModified = (await fetch(`${base}/c/obj.txt`)).headers.get("last-modified")!;
    });

    it.each([
      ["its etag", () => etag],
      ["*", () => "*"],
      ["a list holding it", () => `"nope", ${etag}, "other"`],
      ["its weak form W/", () => `W/${etag}`],
    ])("If-None-Match with %s → 304 without a body, with ETag", async (_what, value) => {
      const res = await httpRequest(port, "GET", "/objects/default/c/obj.txt", {
        headers: { "if-none-match": value() },
      });
      expect(res.status).toBe(304);
      expect(res.body.length).toBe(0);
      expect(res.headers.etag).toBe(etag);
      expect(res.headers["cache-status"]).toMatch(/^breakwater; /);
    });

    it("If-None-Match with other tags → 200 with the body", async () => {
      const res = await httpRequest(port, "GET", "/objects/default/c/obj.txt", {
        headers: { "if-none-match": '"nope", W/"other"' },
      });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe("conditional body");
    });

    it("If-Modified-Since at or after Last-Modified → 304; before → 200; If-None-Match wins over it", async () => {
      const at = await httpRequest(port, "GET", "/objects/default/c/obj.txt", {
        headers: { "if-modified-since": lastModified },
      });
      expect(at.status).toBe(304);
      const before = new Date(Date.parse(lastModified) - 60_000).toUTCString();
      const older = await httpRequest(port, "GET", "/objects/default/c/obj.txt", {
        headers: { "if-modified-since": before },
      });
      expect(older.status).toBe(200);
      const both = await httpRequest(port, "GET", "/objects/default/c/obj.txt", {
        headers: { "if-modified-since": lastModified, "if-none-match": '"different"' },
      });
      expect(both.status).toBe(200);
      const head = await httpRequest(port, "HEAD", "/objects/default/c/obj.txt", {
        headers: { "if-none-match": etag },
      });
      expect(head.status).toBe(304);
    });

    it("PUT with If-Match → 412 when it does not match, 200 when it does", async () => {
      const bad = await put("c/obj.txt", "overwrite", { "if-match": '"not-the-etag"' });
      expect(bad.status).toBe(412);
      expect(await bad.json()).toMatchObject({ code: "failed_precondition" });
      expect(await (await fetch(`${base}/c/obj.txt`)).text()).toBe("conditional body");
      const good = await put("c/if-match.txt", "v1");
      const ok = await put("c/if-match.txt", "v2", { "if-match": good.headers.get("etag")! });
      expect(ok.status).toBe(200);
      expect(await (await fetch(`${base}/c/if-match.txt`)).text()).toBe("v2");
    });

    it("PUT with If-None-Match: * → 412 on an existing key, 200 on a new one", async () => {
      const exists = await put("c/obj.txt", "clobber", { "if-none-match": "*" });
      expect(exists.status).toBe(412);
      expect(await (await fetch(`${base}/c/obj.txt`)).text()).toBe("conditional body");
      const fresh = await put(`c/new-${Date.now()}.txt`, "first", { "if-none-match": "*" });
      expect(fresh.status).toBe(200);
    });
  });

  describe("ranges (RFC 9110 14)", () => {
    const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    beforeAll(async () => {
      await put("r/cached.bin", body);
      await fetch(`${base}/r/cached.bin`).then((r) => r.arrayBuffer()); // now cached in the cache-store
      await put("r/uncached.bin", body); // a put drops the cache-store's copy: ranges go to S3
    });

    it.each(["r/cached.bin", "r/uncached.bin"])(
      "%s: bytes=a-b, a-, -n → 206 with Content-Range and the right bytes",
      async (key) => {
        const cases: [string, number, number][] = [
          ["bytes=0-9", 0, 9],
          ["bytes=990-", 990, 999],
          ["bytes=-10", 990, 999],
          ["bytes=500-5000", 500, 999],
        ];
        for (const [range, start, end] of cases) {
          const res = await httpRequest(port, "GET", `/objects/default/${key}`, { headers: { range } });
          expect(res.status, range).toBe(206);
          expect(res.headers["content-range"], range).toBe(`bytes ${start}-${end}/1000`);
          expect(res.headers["content-length"], range).toBe(String(end - start + 1));
          expect(res.body.equals(body.subarray(start, end + 1)), range).toBe(true);
        }
      },
    );

    it.each(["r/cached.bin", "r/uncached.bin"])(
      "%s: unsatisfiable → 416 with Content-Range: bytes */size",
      async (key) => {
        for (const range of ["bytes=1000-", "bytes=5000-6000", "bytes=-0"]) {
          const res = await httpRequest(port, "GET", `/objects/default/${key}`, { headers: { range } });
          expect(res.status, range).toBe(416);
          expect(res.headers["content-range"], range).toBe("bytes */1000");
          expect(JSON.parse(res.body.toString())).toMatchObject({ code: "out_of_range" });
        }
      },
    );

    it("several ranges, or a malformed one, → 200 with the whole object", async () => {
      for (const range of ["bytes=0-1,5-6", "bytes=abc", "items=0-1"]) {
        const res = await httpRequest(port, "GET", "/objects/default/r/cached.bin", { headers: { range } });
        expect(res.status, range).toBe(200);
        expect(res.body.equals(body), range).toBe(true);
      }
    });
  });

  describe("size limit (MAX_PUT_BYTES)", () => {
    it("Content-Length over the limit → 413 before any body byte is sent", async () => {
      const { text, closed } = await rawExchange(port, (s) =>
        s.write(`PUT /objects/default/big/declared HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX_PUT + 1}\r\n\r\n`),
      );
      expect(statusOf(text)).toBe(413);
      expect(text).toMatch(/"code":"too_large"/);
      expect(closed).toBe(true);
      expect((await fetch(`${base}/big/declared`)).status).toBe(404);
    });

    it("Expect: 100-continue over the limit → 413 instead of 100", async () => {
      const { text } = await rawExchange(port, (s) =>
        s.write(
          `PUT /objects/default/big/expect HTTP/1.1\r\n` +
            `Host: x\r\nExpect: 100-continue\r\nContent-Length: ${MAX_PUT + 1}\r\n\r\n`,
        ),
      );
      expect(statusOf(text)).toBe(413);
    });

    it("a chunked upload is cut off at the limit with 413, and no object is left", async () => {
      const finishedBefore = await putsFinished();
      const chunk = Buffer.alloc(64 * 1024, 7);
      const { text } = await rawExchange(
        port,
        (s) => {
          s.write("PUT /objects/default/big/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
          let sent = 0;
          const pump = (): void => {
            // Keep sending past the limit until the gateway answers or closes.
            if (s.destroyed || sent > 4 * MAX_PUT) return;
            sent += chunk.length;
            s.write(`${chunk.length.toString(16)}\r\n`);
            s.write(chunk);
            s.write("\r\n", () => setImmediate(pump));
          };
          pump();
        },
        { headOnly: true },
      );
      expect(statusOf(text)).toBe(413);
      await putsFinishedReach(finishedBefore + 1);
      expect((await fetch(`${base}/big/chunked`)).status).toBe(404);
    });

    it("a body within the limit is stored", async () => {
      const res = await put("big/fits", Buffer.alloc(MAX_PUT, 1));
      expect(res.status).toBe(200);
    });
  });

  describe("a client that aborts mid-upload", () => {
    /** Declares `size` bytes, sends half, then drops the connection. */
    async function abortedPut(key: string, size: number): Promise<void> {
      await rawExchange(
        port,
        (s) => {
          s.write(
            `PUT /objects/default/${key} HTTP/1.1\r\n` +
              `Host: x\r\nContent-Type: text/plain\r\nContent-Length: ${size}\r\n\r\n`,
          );
          s.write(Buffer.alloc(size / 2, 0x41), () => setTimeout(() => s.destroy(), 50));
        },
        { untilMs: 2_000 },
      );
    }

    /** Chunked: no declared length the cache-store could check the body against. */
    async function abortedChunkedPut(key: string): Promise<void> {
      await rawExchange(
        port,
        (s) => {
          s.write(`PUT /objects/default/${key} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
          s.write(`${(100_000).toString(16)}\r\n`);
          s.write(Buffer.alloc(100_000, 0x42));
          s.write(`\r\n${(100_000).toString(16)}\r\n`);
          s.write(Buffer.alloc(50_000, 0x43), () => setTimeout(() => s.destroy(), 50));
        },
        { untilMs: 2_000 },
      );
    }

    it("leaves the old object whole", async () => {
      const old = randomBytes(200_000);
      await put("abort/existing", old);
      const finishedBefore = await putsFinished();
      await abortedPut("abort/existing", 400_000);
      await abortedChunkedPut("abort/existing");
      // Both uploads' calls are over: nothing of them can still land.
      await putsFinishedReach(finishedBefore + 2);
      const got = await fetch(`${base}/abort/existing`);
      expect(Buffer.from(await got.arrayBuffer()).equals(old)).toBe(true);
      // …in storage too, not just in the cache.
      const s3 = directS3Client(stack.s3);
      const stored = await s3.send(new HeadObjectCommand({ Bucket: "default", Key: "abort/existing" }));
      expect(stored.ContentLength).toBe(200_000);
      s3.destroy();
    });

    it("leaves no object when there was none (declared length or chunked, several times over)", async () => {
      const finishedBefore = await putsFinished();
      for (let i = 0; i < 5; i++) {
        await abortedPut(`abort/new-${i}`, 400_000);
        await abortedChunkedPut(`abort/new-chunked-${i}`);
      }
      await putsFinishedReach(finishedBefore + 10);
      for (let i = 0; i < 5; i++) {
        expect((await fetch(`${base}/abort/new-${i}`)).status).toBe(404);
        expect((await fetch(`${base}/abort/new-chunked-${i}`)).status).toBe(404);
      }
    });
  });

  describe("bad requests", () => {
    it.each([
      ["a .. segment", "/objects/default/a/../b"],
      ["an encoded .. segment (that would switch buckets)", "/objects/default/%2e%2e/other/k"],
      ["a . segment", "/objects/default/./b"],
      ["an empty key", "/objects/default/"],
      ["no key at all", "/objects/default"],
      ["an empty bucket", "/objects//key"],
      ["NUL (%00)", "/objects/default/a%00b"],
      ["a control character (%01)", "/objects/default/a%01b"],
      ["a newline (%0A)", "/objects/default/a%0Ab"],
      ["DEL (%7F)", "/objects/default/a%7Fb"],
      ["a truncated percent-encoding", "/objects/default/a%E0%A4%A"],
      ["a non-hex percent-encoding", "/objects/default/a%zzb"],
      ["invalid UTF-8", "/objects/default/%FF"],
      ["a 2-letter bucket", "/objects/ab/key"],
      ["an upper-case bucket", "/objects/Default/key"],
    ])("%s → 400 with a JSON error", async (_what, path) => {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const res = await httpRequest(port, method, path, method === "PUT" ? { body: "x" } : {});
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(res.headers["content-type"]).toBe("application/json");
        const json = JSON.parse(res.body.toString()) as { error: string; code: string };
        expect(json.code).toBe("invalid_argument");
        expect(json.error.length).toBeGreaterThan(0);
      }
    });

    it("a missing object → 404 JSON (HEAD: no body)", async () => {
      const res = await httpRequest(port, "GET", "/objects/default/missing/thing");
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body.toString())).toMatchObject({ code: "not_found" });
      const head = await httpRequest(port, "HEAD", "/objects/default/missing/thing");
      expect(head.status).toBe(404);
      expect(head.body.length).toBe(0);
      expect((await httpRequest(port, "GET", "/nowhere")).status).toBe(404);
    });

    it("a wrong method → 405 with Allow", async () => {
      for (const method of ["POST", "PATCH", "OPTIONS"]) {
        const res = await httpRequest(port, method, "/objects/default/k", { body: "" });
        expect(res.status, method).toBe(405);
        expect(res.headers.allow).toBe("GET, HEAD, PUT, DELETE, PURGE");
        expect(JSON.parse(res.body.toString())).toMatchObject({ code: "method_not_allowed" });
      }
    });
  });

  describe("DELETE and PURGE", () => {
    it("DELETE → 204, also for a missing key; the object is gone", async () => {
      await put("d/x", "bye");
      const del = await httpRequest(port, "DELETE", "/objects/default/d/x");
      expect(del.status).toBe(204);
      expect(del.body.length).toBe(0);
      expect((await fetch(`${base}/d/x`)).status).toBe(404);
      expect((await httpRequest(port, "DELETE", "/objects/default/d/never-was")).status).toBe(204);
    });

    it("PURGE needs the admin token: 401 without it or with a wrong one", async () => {
      const none = await httpRequest(port, "PURGE", "/objects/default/p/1");
      expect(none.status).toBe(401);
      expect(none.headers["www-authenticate"]).toBe("Bearer");
      expect(JSON.parse(none.body.toString())).toMatchObject({ code: "unauthenticated" });
      const wrong = await httpRequest(port, "PURGE", "/objects/default/p/1", {
        headers: { authorization: "Bearer nope" },
      });
      expect(wrong.status).toBe(401);
    });

    it("PURGE of a key drops the cached copy (next GET is a miss) without touching storage", async () => {
      await put("p/1", "one");
      expect((await fetch(`${base}/p/1`)).headers.get("cache-status")).toBe("breakwater; hit");
      const purge = await httpRequest(port, "PURGE", "/objects/default/p/1", {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(purge.status).toBe(200);
      expect(JSON.parse(purge.body.toString())).toMatchObject({
        bucket: "default",
        key: "p/1",
        prefix: false,
        purged: 1,
      });
      const after = await fetch(`${base}/p/1`);
      expect(after.headers.get("cache-status")).toBe("breakwater; fwd=miss");
      expect(await after.text()).toBe("one");
    });

    it("PURGE ?prefix=1 drops every cached key under the prefix and says how many", async () => {
      for (const k of ["q/a", "q/b", "q/c/d", "qq"]) {
        await put(k, k);
        await fetch(`${base}/${k}`).then((r) => r.text());
      }
      const purge = await httpRequest(port, "PURGE", "/objects/default/q/?prefix=1", {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(purge.status).toBe(200);
      expect(JSON.parse(purge.body.toString())).toMatchObject({ key: "q/", prefix: true, purged: 3 });
      expect((await fetch(`${base}/qq`)).headers.get("cache-status")).toBe("breakwater; hit");
      expect((await fetch(`${base}/q/a`)).headers.get("cache-status")).toBe("breakwater; fwd=miss");
    });
  });

  describe("health and metrics", () => {
    it("/healthz and /readyz answer 200 while a cache-store is reachable", async () => {
      const health = await fetch(`${stack.gateways[0]!.httpUrl}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`${stack.gateways[0]!.httpUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ready: true, near_cache: "off" });
    });

    it("/metrics counts requests by route, method and status", async () => {
      const url = stack.gateways[0]!.httpUrl;
      const labels = { route: "objects", method: "GET", status: "404", service: "gateway" };
      const before = (await scrapeSample(url, "gateway_http_requests_total", labels)) ?? 0;
      await fetch(`${base}/metrics/not-there`);
      await fetch(`${base}/metrics/not-there`);
      expect(await scrapeSample(url, "gateway_http_requests_total", labels)).toBe(before + 2);
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toMatch(
        /gateway_http_requests_total\{route="objects",method="PUT",status="200",service="gateway"\} \d+/,
      );
      expect(text).toMatch(
        /gateway_http_requests_total\{route="objects",method="GET",status="400",service="gateway"\} \d+/,
      );
      expect(text).toMatch(
        /gateway_http_request_duration_seconds_bucket\{le="0.005",service="gateway",route="objects",method="GET"\} \d+/,
      );
    });
  });
});
