import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheV1 } from "@breakwater/proto";
import { Code } from "@connectrpc/connect";
import { promSample } from "@breakwater/testkit";
import {
  get,
  getFailure,
  readObject,
  startCacheStoreStack,
  type CacheStoreStack,
} from "./__fixtures__/cache-store-stack.js";

describe("GetStats and /metrics report what the cache did", () => {
  let stack: CacheStoreStack;

  beforeAll(async () => {
    stack = await startCacheStoreStack();
  });
  afterAll(async () => {
    if (stack !== undefined) expect(await stack.close()).toBe(0); // a clean SIGTERM shutdown
  });

  it("GetStats counts hits, misses, coalesced and bypassed reads exactly; bytes and entries follow", async () => {
    const before = await stack.client.getStats({});
    await stack.put("s/a.txt", "aaaa");
    await stack.put("s/cold.txt", "cold");
    await stack.put("s/ranged.txt", "0123456789");
    // The puts were written through; drop the copies so that the reads below go to storage.
    await stack.client.invalidateCache({ bucket: "default", key: "s/", prefix: true });

    await get(stack.client, "s/a.txt"); // MISS
    await get(stack.client, "s/a.txt"); // HIT
    await get(stack.client, "s/a.txt"); // HIT
    stack.proxy.setMode({ kind: "delay", ms: 1_000 });
    try {
      const burst = await Promise.all([0, 1, 2, 3].map(() => get(stack.client, "s/cold.txt")));
      expect(burst.map((r) => cacheV1.CacheStatus[r.status]).sort()).toEqual([
        "COALESCED",
        "COALESCED",
        "COALESCED",
        "MISS",
      ]);
    } finally {
      stack.proxy.setMode({ kind: "pass" });
    }
    const ranged = await readObject(stack.client, {
      bucket: "default",
      key: "s/ranged.txt",
      range: { start: 2n, end: 4n },
    });
    expect([cacheV1.CacheStatus[ranged.status], ranged.body.toString()]).toEqual(["BYPASS", "234"]);

    const after = await stack.client.getStats({});
    expect({
      hits: after.hits - before.hits,
      misses: after.misses - before.misses,
      coalesced: after.coalesced - before.coalesced,
      bypassed: after.bypassed - before.bypassed,
      staleServed: after.staleServed - before.staleServed,
      revalidations: after.revalidations - before.revalidations,
      evictions: after.evictions - before.evictions,
    }).toEqual({
      hits: 2n,
      misses: 2n,
      coalesced: 3n,
      bypassed: 1n,
      staleServed: 0n,
      revalidations: 0n,
      evictions: 0n,
    });
    expect(after.entries - before.entries).toBe(2n);
    expect(after.bytes).toBeGreaterThan(before.bytes + 8n); // two bodies plus per-entry overhead
    expect(after.maxBytes).toBe(100n * 1024n * 1024n); // CACHE_MAX_BYTES default
  });

  it("/metrics shows the same counters as GetStats", async () => {
    expect((await getFailure(stack.client, "s/missing.txt")).code).toBe(Code.NotFound);
    const stats = await stack.client.getStats({});
    const res = await fetch(`${stack.process.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const service = { service: "cache-store" };
    expect({
      hits: promSample(text, "cache_hits_total", service),
      misses: promSample(text, "cache_misses_total", service),
      coalesced: promSample(text, "cache_coalesced_total", service),
      bypassed: promSample(text, "cache_bypassed_total", service),
      stale: promSample(text, "cache_stale_served_total", service),
      revalidations: promSample(text, "cache_revalidations_total", service),
      evictions: promSample(text, "cache_evictions_total", service),
      bytes: promSample(text, "cache_bytes", service),
      entries: promSample(text, "cache_entries", service),
      maxBytes: promSample(text, "cache_max_bytes", service),
    }).toEqual({
      hits: Number(stats.hits),
      misses: Number(stats.misses),
      coalesced: Number(stats.coalesced),
      bypassed: Number(stats.bypassed),
      stale: Number(stats.staleServed),
      revalidations: Number(stats.revalidations),
      evictions: Number(stats.evictions),
      bytes: Number(stats.bytes),
      entries: Number(stats.entries),
      maxBytes: Number(stats.maxBytes),
    });
  });

  it("/metrics has a storage latency histogram by operation and outcome", async () => {
    await stack.client.deleteObject({ bucket: "default", key: "s/a.txt" });
    await stack.client.headObject({ bucket: "default", key: "s/ranged.txt" });
    const text = await (await fetch(`${stack.process.httpUrl}/metrics`)).text();
    const count = (operation: string, outcome: string): number | undefined =>
      promSample(text, "storage_request_duration_seconds_count", { operation, outcome, service: "cache-store" });
    expect(text).toMatch(/^# TYPE storage_request_duration_seconds histogram$/m);
    expect({
      getOk: count("get", "ok"),
      getNotFound: count("get", "not_found"),
      put: count("put", "ok"),
      delete: count("delete", "ok"),
      head: count("head", "ok"),
    }).toEqual({
      // The misses of a.txt and cold.txt, and the ranged read; missing.txt was not found.
      getOk: 3,
      getNotFound: 1,
      put: 3,
      delete: 1,
      head: 1,
    });
    const getOk = { operation: "get", outcome: "ok" };
    expect(promSample(text, "storage_request_duration_seconds_sum", getOk)).toBeGreaterThan(0);
    // The coalesced burst waited 1 s on one GET: that GET is in the histogram's upper buckets.
    expect(promSample(text, "storage_request_duration_seconds_bucket", { ...getOk, le: "0.25" })).toBeLessThan(3);
    expect(promSample(text, "storage_request_duration_seconds_bucket", { ...getOk, le: "+Inf" })).toBe(3);
  });
});
