import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { cacheV1 } from "@breakwater/proto";
import { createNearCache, NEAR_CACHE_ENTRY_OVERHEAD, type NearCache } from "./near-cache.js";

function setup(over: Partial<{ maxBytes: number; maxObjectBytes: number; ttlMs: number }> = {}) {
  let now = 1_000;
  const cache = createNearCache({ maxBytes: 1 << 20, maxObjectBytes: 1024, ttlMs: 5_000, clock: () => now, ...over });
  cache.enable();
  return { cache, advance: (ms: number) => (now += ms) };
}

function store(cache: NearCache, key: string, body: string | Buffer, bucket = "bkt"): boolean {
  const ticket = cache.begin(bucket, key);
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const info = create(cacheV1.ObjectInfoSchema, { bucket, key, size: BigInt(bytes.byteLength), etag: '"e"' });
  const stored = cache.fill(ticket, { info, body: bytes, upstreamStatus: "breakwater; fwd=miss" });
  cache.end(ticket);
  return stored;
}

describe("near-cache", () => {
  it("serves a stored copy until the TTL, never after", () => {
    const { cache, advance } = setup();
    expect(store(cache, "a", "one")).toBe(true);
    expect(cache.lookup("bkt", "a")?.body.toString()).toBe("one");
    advance(4_999);
    expect(cache.lookup("bkt", "a")?.body.toString()).toBe("one");
    advance(1);
    expect(cache.lookup("bkt", "a")).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, entries: 0 });
  });

  it("starts disabled: stores and serves nothing until enabled", () => {
    const cache = createNearCache({ maxBytes: 1 << 20, maxObjectBytes: 1024, ttlMs: 5_000, clock: () => 0 });
    expect(cache.enabled).toBe(false);
    expect(store(cache, "a", "x")).toBe(false);
    cache.enable();
    expect(cache.lookup("bkt", "a")).toBeUndefined();
  });

  it("a fill begun while disabled stays void after enabling (it may predate missed invalidations)", () => {
    const cache = createNearCache({ maxBytes: 1 << 20, maxObjectBytes: 1024, ttlMs: 5_000, clock: () => 0 });
    const ticket = cache.begin("bkt", "a");
    cache.enable();
    const info = create(cacheV1.ObjectInfoSchema, { size: 1n });
    expect(cache.fill(ticket, { info, body: Buffer.from("x"), upstreamStatus: "" })).toBe(false);
  });

  it("disable empties it and voids fills in flight", () => {
    const { cache } = setup();
    store(cache, "a", "one");
    const ticket = cache.begin("bkt", "b");
    cache.disable();
    expect(cache.stats()).toMatchObject({ enabled: false, entries: 0, bytes: 0, clears: 1 });
    cache.enable();
    expect(cache.lookup("bkt", "a")).toBeUndefined();
    expect(ticket.valid).toBe(false);
  });

  it("an invalidation during a load voids that load's copy (a body read before a write never lands after it)", () => {
    const { cache } = setup();
    const before = cache.begin("bkt", "a");
    const other = cache.begin("bkt", "b");
    cache.invalidate("bkt", "a", false);
    const info = create(cacheV1.ObjectInfoSchema, { size: 3n });
    expect(cache.fill(before, { info, body: Buffer.from("old"), upstreamStatus: "" })).toBe(false);
    expect(cache.fill(other, { info, body: Buffer.from("bbb"), upstreamStatus: "" })).toBe(true);
    cache.end(before);
    cache.end(other);
    expect(cache.lookup("bkt", "a")).toBeUndefined();
    // A load that starts after the invalidation may store.
    expect(store(cache, "a", "new")).toBe(true);
    expect(cache.lookup("bkt", "a")?.body.toString()).toBe("new");
  });

  it("drops one key, or a prefix within one bucket, and counts them", () => {
    const { cache } = setup();
    for (const k of ["img/1", "img/2", "imgx", "doc/1"]) store(cache, k, k);
    store(cache, "img/1", "other bucket", "bkt2");
    const pendingUnderPrefix = cache.begin("bkt", "img/9");
    expect(cache.invalidate("bkt", "doc/1", false)).toBe(1);
    expect(cache.invalidate("bkt", "doc/1", false)).toBe(0);
    expect(cache.invalidate("bkt", "img/", true)).toBe(2);
    expect(pendingUnderPrefix.valid).toBe(false);
    expect(cache.lookup("bkt", "imgx")).toBeDefined();
    expect(cache.lookup("bkt2", "img/1")).toBeDefined();
    expect(cache.invalidate("bkt", "", true)).toBe(1); // a whole bucket
    expect(cache.stats().invalidated).toBe(4);
  });

  it("keeps only small objects and stays within its byte bound, least recently used first out", () => {
    const { cache } = setup({ maxBytes: 3 * (100 + NEAR_CACHE_ENTRY_OVERHEAD), maxObjectBytes: 100 });
    expect(cache.accepts(101)).toBe(false);
    expect(store(cache, "big", Buffer.alloc(101))).toBe(false);
    store(cache, "a", Buffer.alloc(100));
    store(cache, "b", Buffer.alloc(100));
    store(cache, "c", Buffer.alloc(100));
    cache.lookup("bkt", "a"); // a is now the most recent
    store(cache, "d", Buffer.alloc(100));
    expect(cache.lookup("bkt", "b")).toBeUndefined();
    expect(cache.lookup("bkt", "a")).toBeDefined();
    expect(cache.stats().bytes).toBeLessThanOrEqual(3 * (100 + NEAR_CACHE_ENTRY_OVERHEAD));
  });

  it("rejects bad options with a RangeError naming the value", () => {
    expect(() => createNearCache({ maxBytes: 0, maxObjectBytes: 1, ttlMs: 1, clock: () => 0 })).toThrow(/maxBytes.*0/);
    expect(() => createNearCache({ maxBytes: 1 << 20, maxObjectBytes: -1, ttlMs: 1, clock: () => 0 })).toThrow(
      /maxObjectBytes.*-1/,
    );
    expect(() => createNearCache({ maxBytes: 1 << 20, maxObjectBytes: 1, ttlMs: 0, clock: () => 0 })).toThrow(
      /ttlMs.*0/,
    );
  });
});

describe("near-cache: reads waiting for a copy in the making", () => {
  const infoOf = (key: string, size: number) =>
    create(cacheV1.ObjectInfoSchema, { bucket: "bkt", key, size: BigInt(size), etag: '"e"' });

  it("a leading load's followers get the copy it stores; only one load leads", async () => {
    const { cache } = setup();
    expect(cache.joinFill("bkt", "a")).toBeUndefined();
    const lead = cache.begin("bkt", "a", true);
    const second = cache.begin("bkt", "a", true); // a lead is in flight: this one does not lead
    const waiting = cache.joinFill("bkt", "a")!;
    expect(waiting).toBeDefined();
    cache.fill(second, { info: infoOf("a", 3), body: Buffer.from("two"), upstreamStatus: "breakwater; hit" });
    cache.end(second);
    cache.fill(lead, { info: infoOf("a", 3), body: Buffer.from("one"), upstreamStatus: "breakwater; hit" });
    expect((await waiting)?.body.toString()).toBe("one");
    cache.end(lead);
    expect(cache.joinFill("bkt", "a")).toBeUndefined();
  });

  const releasesEmpty =
    "releases followers with nothing when the lead declines, ends without a copy, or is invalidated; " +
    "none while disabled";
  it(releasesEmpty, async () => {
    const { cache } = setup();
    const declined = cache.begin("bkt", "a", true);
    const w1 = cache.joinFill("bkt", "a")!;
    cache.decline(declined);
    expect(await w1).toBeUndefined();
    expect(cache.joinFill("bkt", "a")).toBeUndefined();
    cache.end(declined);

    const failed = cache.begin("bkt", "b", true);
    const w2 = cache.joinFill("bkt", "b")!;
    cache.end(failed);
    expect(await w2).toBeUndefined();

    const voided = cache.begin("bkt", "c", true);
    const w3 = cache.joinFill("bkt", "c")!;
    cache.invalidate("bkt", "c", false);
    expect(await w3).toBeUndefined();
    expect(cache.fill(voided, { info: infoOf("c", 1), body: Buffer.from("x"), upstreamStatus: "" })).toBe(false);
    cache.end(voided);

    const tooBig = cache.begin("bkt", "d", true);
    const w4 = cache.joinFill("bkt", "d")!;
    expect(cache.fill(tooBig, { info: infoOf("d", 2048), body: Buffer.alloc(2048), upstreamStatus: "" })).toBe(false);
    expect(await w4).toBeUndefined();

    const lead = cache.begin("bkt", "e", true);
    const w5 = cache.joinFill("bkt", "e")!;
    cache.disable();
    expect(await w5).toBeUndefined();
    expect(cache.joinFill("bkt", "e")).toBeUndefined();
    cache.end(lead);
    expect(cache.begin("bkt", "f", true).valid).toBe(false);
    expect(cache.joinFill("bkt", "f")).toBeUndefined();
  });
});
