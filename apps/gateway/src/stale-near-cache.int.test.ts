import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, s3Unavailable, scrapeSample } from "@breakwater/testkit";
import { startStack, type Stack } from "./__fixtures__/stack.js";

/**
 * A STALE answer (storage failing after the cache-store's copy expired,
 * design.md "Cache rules") is served, but the gateway does not copy it into
 * its near-cache: that would make it fresh again for GATEWAY_CACHE_TTL, and
 * the next read after storage is back would still get the old copy from the
 * gateway without the cache-store being asked.
 */
describe("a stale answer is not copied into the near-cache", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      proxy: true,
      cacheStoreEnv: { CACHE_TTL: "300ms", CACHE_MAX_STALE: "10m" },
      // Long enough that a copy made from the stale answer would answer the next read.
      gatewayEnv: { GATEWAY_CACHE_TTL: "3s" },
    });
    const gateway = stack.gateways[0]!;
    await eventually(async () => (await scrapeSample(gateway.httpUrl, "gateway_near_cache_enabled")) === 1, {
      what: "near-cache on",
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function read(): Promise<{ body: string; cacheStatus: string }> {
    const res = await fetch(`${stack.base}/stale/key`);
    expect(res.status).toBe(200);
    return { body: await res.text(), cacheStatus: res.headers.get("cache-status") ?? "" };
  }

  it("S3 down after expiry → stale served; S3 back → the next read is not a near-cache hit", async () => {
    expect((await fetch(`${stack.base}/stale/key`, { method: "PUT", body: "v1" })).status).toBe(200);
    expect((await read()).body).toBe("v1");

    stack.proxy!.setMode(s3Unavailable);
    let stale: { body: string; cacheStatus: string } | undefined;
    try {
      // Once both copies have expired (the gateway's after 3 s), a read reaches storage, which fails.
      await eventually(
        async () => {
          stale = await read();
          return stale.cacheStatus.includes("detail=stale");
        },
        { timeoutMs: 15_000, what: "a stale answer" },
      );
      expect(stale!.body).toBe("v1");
      expect(stale!.cacheStatus).toMatch(/^breakwater; hit; detail=stale, breakwater-gateway; fwd=miss$/);
    } finally {
      stack.proxy!.setMode({ kind: "pass" });
    }

    const next = await read();
    expect(next.body).toBe("v1");
    expect(next.cacheStatus).not.toMatch(/breakwater-gateway; hit$/);
  }, 30_000);
});
