import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, scrapeSample, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import { httpRequest, startStack, type Stack } from "./__fixtures__/stack.js";

const BODY = Buffer.from(Array.from({ length: 100 }, (_, i) => String.fromCharCode(65 + (i % 26))).join(""));
const KEY = "conditions/object.txt";

/**
 * Conditional reads that combine with Range, on both of the gateway's read
 * paths: from its near-cache (a copy it holds) and through a cache-store
 * (near-cache off). If-Range (RFC 9110 13.1.5) and the order of preconditions
 * before Range (RFC 9110 13.2.2).
 */
describe("conditional range reads", () => {
  let stack: Stack;
  /** A second gateway on the same cache-store with its near-cache off. */
  let direct: ServiceProcess;
  let etag: string;
  let lastModified: string;

  beforeAll(async () => {
    stack = await startStack();
    direct = await startServiceProcess("gateway", {
      env: { CACHE_STORE_URLS: `http://${stack.cacheStore.grpcAddress}`, GATEWAY_CACHE_MAX_BYTES: "0" },
    });
    const put = await fetch(`${stack.base}/${KEY}`, { method: "PUT", body: BODY });
    expect(put.status).toBe(200);
    etag = put.headers.get("etag")!;
    expect(etag).toMatch(/^"[^"]+"$/);
    lastModified = (await fetch(`${stack.base}/${KEY}`, { method: "HEAD" })).headers.get("last-modified")!;
    const gateway = stack.gateways[0]!;
    const enabled = async (): Promise<boolean> =>
      (await scrapeSample(gateway.httpUrl, "gateway_near_cache_enabled")) === 1;
    await eventually(enabled, { what: "near-cache on" });
  });
  afterAll(async () => {
    await direct?.stop();
    await stack?.stop();
  });

  /** Reads through `port` with `headers`, and says whether the gateway's near-cache answered. */
  async function read(port: number, headers: Record<string, string>) {
    const answer = await httpRequest(port, "GET", `/objects/default/${KEY}`, { headers });
    return { ...answer, nearHit: /breakwater-gateway; hit$/.test(String(answer.headers["cache-status"] ?? "")) };
  }

  const paths = [
    {
      name: "through a cache-store (near-cache off)",
      port: () => direct.httpPort,
      prepare: async () => undefined,
      nearHit: false,
    },
    {
      name: "from the gateway's near-cache",
      port: () => stack.gateways[0]!.httpPort,
      // A copy of the key must be held: read until the near-cache answers.
      prepare: async () => {
        await eventually(async () => (await read(stack.gateways[0]!.httpPort, {})).nearHit, {
          what: "a near-cache copy",
        });
      },
      nearHit: true,
    },
  ];

  describe.each(paths)("$name", ({ port, prepare, nearHit }) => {
    beforeAll(async () => {
      await prepare();
    });

    it("If-Range with the current strong ETag: 206 with the range", async () => {
      const res = await read(port(), { range: "bytes=10-19", "if-range": etag });
      expect(res.nearHit).toBe(nearHit);
      expect(res.status).toBe(206);
      expect(res.headers["content-range"]).toBe(`bytes 10-19/${BODY.length}`);
      expect(res.body.toString()).toBe(BODY.subarray(10, 20).toString());
      expect(res.headers.etag).toBe(etag);
    });

    it("If-Range with another ETag, or a weak one: 200 with the whole body", async () => {
      for (const validator of ['"not-the-current-etag"', `W/${etag}`]) {
        const res = await read(port(), { range: "bytes=10-19", "if-range": validator });
        expect(res.status, validator).toBe(200);
        expect(res.headers["content-range"], validator).toBeUndefined();
        expect(res.headers["content-length"], validator).toBe(String(BODY.length));
        expect(res.body.equals(BODY), validator).toBe(true);
      }
    });

    it("If-Range with the Last-Modified date: 206 when it matches exactly, 200 when older", async () => {
      const same = await read(port(), { range: "bytes=0-4", "if-range": lastModified });
      expect(same.status).toBe(206);
      expect(same.body.toString()).toBe(BODY.subarray(0, 5).toString());
      const older = new Date(Date.parse(lastModified) - 60_000).toUTCString();
      const stale = await read(port(), { range: "bytes=0-4", "if-range": older });
      expect(stale.status).toBe(200);
      expect(stale.body.equals(BODY)).toBe(true);
    });

    it("If-None-Match matching with an unsatisfiable Range: 304, not 416 (preconditions first)", async () => {
      for (const range of [`bytes=${BODY.length + 10}-${BODY.length + 20}`, "bytes=-0"]) {
        const res = await read(port(), { range, "if-none-match": etag });
        expect(res.status, range).toBe(304);
        expect(res.headers.etag, range).toBe(etag);
        expect(res.body.byteLength, range).toBe(0);
      }
    });

    it("the same unsatisfiable Range without a matching condition: 416 with Content-Range */size", async () => {
      const variants: Record<string, string>[] = [{}, { "if-none-match": '"another"' }];
      for (const headers of variants) {
        const res = await read(port(), { range: `bytes=${BODY.length + 10}-`, ...headers });
        expect(res.status).toBe(416);
        expect(res.headers["content-range"]).toBe(`bytes */${BODY.length}`);
      }
    });
  });
});
