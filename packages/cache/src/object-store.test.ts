import { describe, expect, it } from "vitest";
import {
  createObjectStore,
  ENTRY_OVERHEAD_BYTES,
  entrySize,
  type ObjectStoreOptions,
  storeKey,
} from "./object-store.js";
import type { ObjectMeta } from "./storage.js";

const meta = (size: number): ObjectMeta => ({
  size,
  contentType: "",
  etag: "",
  lastModified: new Date(0),
  metadata: {},
});
const body = (n: number) => new Uint8Array(n);
/** Bytes an object entry for key `k` in bucket "b" counts. */
const cost = (k: string, n: number) => ENTRY_OVERHEAD_BYTES + storeKey("b", k).length + n;

const defaults: ObjectStoreOptions = {
  maxBytes: 10_000,
  maxObjectBytes: 5_000,
  ttlMs: 1_000,
  maxStaleMs: 10_000,
  negativeTtlMs: 100,
};

describe("object store", () => {
  it("evicts least recently used first, by bytes, and counts evictions", () => {
    const store = createObjectStore({ ...defaults, maxBytes: cost("a", 1000) * 3, maxObjectBytes: 2000 });
    store.setObject("b", "a", meta(1000), body(1000), 0);
    store.setObject("b", "c", meta(1000), body(1000), 0);
    store.setObject("b", "d", meta(1000), body(1000), 0);
    store.lookup("b", "a", 0); // a is now the most recent; c the least
    store.setObject("b", "e", meta(1500), body(1500), 0); // needs room for 1.5 entries: c and d go
    expect(store.peek("b", "c")).toBeUndefined();
    expect(store.peek("b", "d")).toBeUndefined();
    expect(store.peek("b", "a")).toBeDefined();
    expect(store.peek("b", "e")).toBeDefined();
    expect(store.stats()).toMatchObject({ entries: 2, evictions: 2, bytes: cost("a", 1000) + cost("e", 1500) });
  });

  it("refuses bodies over the per-object cap without touching others", () => {
    const store = createObjectStore(defaults);
    store.setObject("b", "small", meta(10), body(10), 0);
    expect(store.setObject("b", "big", meta(5001), body(5001), 0)).toBeUndefined();
    expect(store.setObject("b", "edge", meta(5000), body(5000), 0)).toBeDefined();
    expect(store.peek("b", "small")).toBeDefined();
    expect(store.stats().evictions).toBe(0);
  });

  it("counts chunk lists, metadata and 404s", () => {
    const k = storeKey("b", "k");
    const m: ObjectMeta = { ...meta(6), contentType: "ab", etag: '"e"', metadata: { x: "yz" } };
    const entry = { kind: "object", meta: m, body: [body(2), body(4)], storedAt: 0, validatedAt: 0 } as const;
    expect(entrySize(entry, k)).toBe(ENTRY_OVERHEAD_BYTES + k.length + 6 + 2 + 3 + 3);
    expect(entrySize({ kind: "not-found", storedAt: 0 }, k)).toBe(ENTRY_OVERHEAD_BYTES + k.length);
  });

  it("never exceeds the byte bound (randomised operations)", () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const store = createObjectStore({ ...defaults, maxBytes: 20_000, maxObjectBytes: 8_000 });
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = `k${rand(60)}`;
      switch (rand(6)) {
        case 0:
        case 1:
        case 2: {
          const n = rand(9_000);
          store.setObject("b", key, meta(n), rand(2) ? body(n) : [body(n >> 1), body(n - (n >> 1))], now);
          break;
        }
        case 3:
          store.setNotFound("b", key, now);
          break;
        case 4:
          store.lookup("b", key, now);
          break;
        default:
          now += rand(3_000);
          if (rand(4) === 0) store.sweep(now);
      }
      const { bytes, maxBytes } = store.stats();
      expect(bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(store.stats().evictions).toBeGreaterThan(0);
  });

  it("ages objects: fresh before ttl, stale before max stale, gone after", () => {
    const store = createObjectStore(defaults);
    store.setObject("b", "k", meta(1), body(1), 1_000);
    expect(store.lookup("b", "k", 1_999)).toMatchObject({ freshness: "fresh", ageMs: 999 });
    expect(store.lookup("b", "k", 2_000)).toMatchObject({ freshness: "stale", ageMs: 1_000 });
    expect(store.lookup("b", "k", 10_999)).toMatchObject({ freshness: "stale" });
    expect(store.lookup("b", "k", 11_000)).toBeUndefined();
    expect(store.peek("b", "k")).toBeUndefined();
  });

  it("counts age from the last validation", () => {
    const store = createObjectStore(defaults);
    const entry = store.setObject("b", "k", meta(1), body(1), 0)!;
    const refreshed = store.markValidated("b", "k", entry, 5_000)!;
    expect(refreshed).toMatchObject({ storedAt: 0, validatedAt: 5_000 });
    expect(store.lookup("b", "k", 5_500)).toMatchObject({ freshness: "fresh" });
    // A replaced entry is not refreshed.
    store.setObject("b", "k", meta(2), body(2), 6_000);
    expect(store.markValidated("b", "k", refreshed, 7_000)).toBeUndefined();
  });

  it("keeps 404s for the negative ttl only, never stale", () => {
    const store = createObjectStore(defaults);
    store.setNotFound("b", "gone", 0);
    expect(store.lookup("b", "gone", 99)).toMatchObject({ entry: { kind: "not-found" }, freshness: "fresh" });
    expect(store.lookup("b", "gone", 100)).toBeUndefined();
  });

  it("sweeps what is past max stale and expired 404s, and says how many", () => {
    const store = createObjectStore(defaults);
    store.setObject("b", "old", meta(1), body(1), 0);
    store.setObject("b", "stale", meta(1), body(1), 5_000);
    store.setObject("b", "fresh", meta(1), body(1), 9_500);
    store.setNotFound("b", "404-old", 9_000);
    store.setNotFound("b", "404-new", 9_950);
    expect(store.sweep(10_000)).toBe(2);
    expect([...["old", "stale", "fresh", "404-old", "404-new"]].map((k) => store.peek("b", k) !== undefined)).toEqual([
      false,
      true,
      true,
      false,
      true,
    ]);
    expect(store.stats().evictions).toBe(0);
  });

  it("expireAll makes every entry due for revalidation without dropping it, and forgets 404s", () => {
    const store = createObjectStore(defaults);
    const before = store.setObject("b", "fresh", meta(1), body(1), 9_500)!;
    store.setObject("b", "stale", meta(1), body(1), 5_000);
    store.setNotFound("b", "404", 9_950);
    const sizeBefore = store.stats();
    expect(store.expireAll(10_000)).toBe(3);
    // Kept, stale: revalidate on the next read, or serve if storage fails.
    expect(store.lookup("b", "fresh", 10_000)).toMatchObject({ freshness: "stale", ageMs: 500, entry: before });
    expect(store.lookup("b", "stale", 10_000)).toMatchObject({ freshness: "stale", ageMs: 5_000 });
    // A cached 404 cannot be revalidated: it is forgotten.
    expect(store.lookup("b", "404", 10_000)).toBeUndefined();
    expect(store.stats()).toMatchObject({ entries: sizeBefore.entries - 1, evictions: 0 });
    // The stale window still counts from the last validation, not from expireAll.
    expect(store.lookup("b", "fresh", 19_499)).toMatchObject({ freshness: "stale" });
    expect(store.lookup("b", "fresh", 19_500)).toBeUndefined();
  });

  it("after expireAll, a revalidation or a new entry is fresh again; one of the same millisecond is not", () => {
    const store = createObjectStore(defaults);
    const entry = store.setObject("b", "k", meta(1), body(1), 1_000)!;
    store.expireAll(1_200);
    const sameMs = store.setObject("b", "same-ms", meta(1), body(1), 1_200)!;
    expect(store.lookup("b", "same-ms", 1_200)).toMatchObject({ freshness: "stale", entry: sameMs });
    expect(store.markValidated("b", "k", entry, 1_201)).toBeDefined();
    expect(store.lookup("b", "k", 1_300)).toMatchObject({ freshness: "fresh", ageMs: 99 });
    store.setObject("b", "new", meta(1), body(1), 1_201);
    expect(store.lookup("b", "new", 1_201)).toMatchObject({ freshness: "fresh" });
    store.setNotFound("b", "404", 1_201);
    expect(store.lookup("b", "404", 1_201)).toMatchObject({ freshness: "fresh" });
    // A clock read earlier than the last expireAll does not move it back.
    store.expireAll(500);
    expect(store.lookup("b", "new", 1_300)).toMatchObject({ freshness: "fresh" });
  });

  it("expireAll does not change recency: the least recently used still go first", () => {
    const store = createObjectStore({ ...defaults, maxBytes: cost("a", 1000) * 2, maxObjectBytes: 2000 });
    store.setObject("b", "a", meta(1000), body(1000), 0);
    store.setObject("b", "c", meta(1000), body(1000), 0);
    store.lookup("b", "a", 0); // c is the least recent
    store.expireAll(10);
    store.setObject("b", "d", meta(1000), body(1000), 20);
    expect([store.peek("b", "a") !== undefined, store.peek("b", "c") !== undefined]).toEqual([true, false]);
  });

  it("deletes one key, conditionally, and by prefix within a bucket", () => {
    const store = createObjectStore(defaults);
    for (const k of ["a/1", "a/2", "a/3", "ab", "b/1"]) store.setObject("b", k, meta(1), body(1), 0);
    store.setObject("other", "a/1", meta(1), body(1), 0);
    store.setNotFound("b", "a/404", 0);
    expect(store.delete("b", "ab", store.peek("b", "a/1"))).toBe(false);
    expect(store.delete("b", "ab")).toBe(true);
    expect(store.delete("b", "ab")).toBe(false);
    expect(store.deletePrefix("b", "a/")).toBe(4);
    expect(store.peek("other", "a/1")).toBeDefined();
    expect(store.deletePrefix("b", "")).toBe(1);
    expect(store.stats().entries).toBe(1);
  });

  it("keys by bucket and key only", () => {
    const store = createObjectStore(defaults);
    store.setObject("b", "x\u0000y", meta(1), body(1), 0);
    expect(store.peek("b\u0000x", "y")).toBeDefined(); // documented: buckets never hold NUL
    expect(store.peek("b", "x")).toBeUndefined();
  });

  it("rejects impossible options with a RangeError naming the value", () => {
    expect(() => createObjectStore({ ...defaults, maxBytes: 0 })).toThrow(/maxBytes must be a positive integer, got 0/);
    expect(() => createObjectStore({ ...defaults, maxObjectBytes: 20_000 })).toThrow(/maxObjectBytes 20000 exceeds/);
    expect(() => createObjectStore({ ...defaults, ttlMs: -1 })).toThrow(/ttlMs/);
    expect(() => createObjectStore({ ...defaults, maxStaleMs: 10 })).toThrow(/maxStaleMs 10 is shorter/);
  });
});
