import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "./__fixtures__/stack.js";

/** Longer than UPSTREAM_TIMEOUT by far; shorter than the cache-store's own S3 timeout. */
const STORAGE_DELAY_MS = 8_000;

/**
 * UPSTREAM_TIMEOUT, the deadline of the gateway's metadata calls (HEAD,
 * DELETE, and the HeadObject an unsatisfiable Range needs) and of a GET's
 * first message: a cache-store that does not answer in time makes a 504, not
 * a hung request. Storage is slowed by the counting proxy in delay mode and
 * the keys are uncached, so the cache-store itself waits on S3. There is one
 * cache-store: a GET whose first message misses the deadline goes to the next
 * replica once, and here there is none.
 */
describe("UPSTREAM_TIMEOUT", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      proxy: true,
      gatewayEnv: { UPSTREAM_TIMEOUT: "1s" }, // well inside STORAGE_DELAY_MS, roomy on a busy machine
      cacheStoreEnv: { S3_REQUEST_TIMEOUT: "20s" },
    });
    stack.proxy!.setMode({ kind: "delay", ms: STORAGE_DELAY_MS });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it.each([
    ["HEAD", "HEAD", {}],
    ["DELETE", "DELETE", {}],
    ["GET with an unsatisfiable Range", "GET", { range: "bytes=-0" }],
    ["GET (its first message)", "GET", {}],
  ])(
    "%s of an uncached key on slow storage: 504 with a JSON error that names no internals",
    async (_n, method, headers) => {
      const before = stack.proxy!.requests.length;
      const started = performance.now();
      const res = await fetch(`${stack.base}/slow/${method}-${Date.now()}`, { method, headers });
      const body = await res.text();
      expect(res.status).toBe(504);
      // The call reached storage (and is still waiting there): the deadline, not an early failure, made the 504.
      expect(stack.proxy!.requests.length).toBeGreaterThan(before);
      // Breakage bound only: storage would have answered after STORAGE_DELAY_MS.
      expect(performance.now() - started).toBeLessThan(STORAGE_DELAY_MS);
      if (method !== "HEAD") {
        expect(res.headers.get("content-type")).toBe("application/json");
        const json = JSON.parse(body) as { error: string; code: string };
        expect(json.code).toBe("deadline_exceeded");
        expect(json.error).not.toMatch(/127\.0\.0\.1|deadline|grpc/i);
      }
    },
  );
});
