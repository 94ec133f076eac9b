import { beforeEach, describe, expect, it } from "vitest";
import { createMemoryStorage, type MemoryStorage } from "./__fixtures__/memory-storage.js";
import type { BreakerHook } from "./breaker-hook.js";
import { CacheError, isCacheError } from "./errors.js";
import type { Invalidation } from "./invalidation-feed.js";
import { createObjectCache, type ObjectCacheOptions, type StaleInfo } from "./object-cache.js";
import type { GetResult, ObjectCache } from "./object-cache-api.js";

const decoder = new TextDecoder();
async function bytesOf(result: GetResult): Promise<{ chunks: number[]; bytes: Uint8Array }> {
  const parts: Uint8Array[] = [];
  for await (const c of result.body) parts.push(c);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.byteLength;
  }
  return { chunks: parts.map((p) => p.byteLength), bytes };
}
const text = async (result: GetResult) => decoder.decode((await bytesOf(result)).bytes);
const body = (s: string) => ({
  async *[Symbol.asyncIterator]() {
    yield new TextEncoder().encode(s);
  },
});
const big = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 253);
const kindOf = (kind: CacheError["kind"]) => (e: unknown) => isCacheError(e, kind);

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}
const tick = () => new Promise((r) => setImmediate(r));

let now: number;
let storage: MemoryStorage;
const clock = { now: () => now };
function cache(options: Partial<ObjectCacheOptions> = {}): ObjectCache {
  return createObjectCache({
    storage,
    clock,
    ttlMs: 1_000,
    maxStaleMs: 10_000,
    negativeTtlMs: 100,
    maxBytes: 1_000_000,
    maxObjectBytes: 100_000,
    ...options,
  });
}

beforeEach(() => {
  now = 1_000_000;
  storage = createMemoryStorage();
});

describe("read path", () => {
  it("misses once, then hits without a storage call", async () => {
    storage.seed("bkt", "a", "hello");
    const c = cache();
    const first = await c.get("bkt", "a");
    expect([first.status, await text(first), first.meta.etag]).toEqual(["MISS", "hello", '"v1"']);
    const second = await c.get("bkt", "a");
    expect([second.status, await text(second)]).toEqual(["HIT", "hello"]);
    expect(storage.calls.get).toBe(1);
    expect(c.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1 });
  });

  it("caches a 404 for the negative ttl", async () => {
    const c = cache();
    await expect(c.get("bkt", "nope")).rejects.toSatisfy(kindOf("not-found"));
    await expect(c.get("bkt", "nope")).rejects.toSatisfy(kindOf("not-found"));
    await expect(c.head("bkt", "nope")).rejects.toSatisfy(kindOf("not-found"));
    expect(storage.calls.get).toBe(1);
    now += 100;
    storage.seed("bkt", "nope", "now here");
    expect(await text(await c.get("bkt", "nope"))).toBe("now here");
  });

  it("revalidates an expired copy with its etag: 304 is REVALIDATED and fresh again", async () => {
    storage.seed("bkt", "a", "hello");
    const c = cache();
    await c.get("bkt", "a");
    now += 1_000;
    const r = await c.get("bkt", "a");
    expect([r.status, await text(r)]).toEqual(["REVALIDATED", "hello"]);
    expect(storage.gets.at(-1)?.ifNoneMatch).toBe('"v1"');
    now += 999;
    expect((await c.get("bkt", "a")).status).toBe("HIT");
    expect(storage.calls.get).toBe(2);
    expect(c.stats().revalidations).toBe(1);
  });

  it("replaces an expired copy that changed in storage", async () => {
    storage.seed("bkt", "a", "old");
    const c = cache();
    await c.get("bkt", "a");
    storage.seed("bkt", "a", "new");
    now += 5_000;
    const r = await c.get("bkt", "a");
    expect([r.status, await text(r)]).toEqual(["MISS", "new"]);
    expect((await c.get("bkt", "a")).status).toBe("HIT");
  });

  it("serves STALE when storage fails or the breaker refuses, within max stale", async () => {
    storage.seed("bkt", "a", "hello");
    const stale: StaleInfo[] = [];
    let open = false;
    const breaker: BreakerHook = {
      admit: () => (open ? { allowed: false, retryAfterMs: 700 } : { allowed: true }),
      record: () => {},
    };
    const c = cache({ breaker, events: { onStale: (i) => stale.push(i) } });
    await c.get("bkt", "a");
    now += 2_000;
    storage.down = true;
    const r = await c.get("bkt", "a");
    expect([r.status, await text(r)]).toEqual(["STALE", "hello"]);
    storage.down = false;
    open = true;
    const gets = storage.calls.get;
    expect((await c.get("bkt", "a")).status).toBe("STALE");
    expect(storage.calls.get).toBe(gets);
    expect(stale.map((s) => [s.ageMs, s.error.retryAfterMs])).toEqual([
      [2_000, undefined],
      [2_000, 700],
    ]);
    expect((await c.head("bkt", "a")).status).toBe("STALE");
    expect(c.stats().staleServed).toBe(3);
  });

  it("treats a copy past max stale as a miss", async () => {
    storage.seed("bkt", "a", "hello");
    const c = cache();
    await c.get("bkt", "a");
    now += 10_000;
    storage.down = true;
    await expect(c.get("bkt", "a")).rejects.toSatisfy(kindOf("unavailable"));
    storage.down = false;
    expect((await c.get("bkt", "a")).status).toBe("MISS");
    expect(storage.gets.at(-1)?.ifNoneMatch).toBeUndefined();
  });

  it("answers unavailable with retryAfterMs when the breaker refuses and nothing is cached", async () => {
    storage.seed("bkt", "a", "hello");
    const c = cache({ breaker: { admit: () => ({ allowed: false, retryAfterMs: 1234 }), record: () => {} } });
    const e = await c.get("bkt", "a").catch((x: unknown) => x);
    expect(isCacheError(e, "unavailable") && e.retryAfterMs).toBe(1234);
    await expect(c.head("bkt", "a")).rejects.toSatisfy(kindOf("unavailable"));
    await expect(c.put("bkt", "a", body("x"))).rejects.toSatisfy(kindOf("unavailable"));
    expect(storage.calls).toEqual({ get: 0, head: 0, put: 0, delete: 0 });
  });

  it("reports storage outcomes to the breaker: 404 is a success, unavailable a failure", async () => {
    const records: boolean[] = [];
    const c = cache({ breaker: { admit: () => ({ allowed: true }), record: (_a, ok) => records.push(ok) } });
    await expect(c.get("bkt", "missing")).rejects.toSatisfy(kindOf("not-found"));
    storage.down = true;
    await expect(c.get("bkt", "other")).rejects.toSatisfy(kindOf("unavailable"));
    expect(records).toEqual([true, false]);
  });
});

describe("single flight", () => {
  it("makes 1000 concurrent misses one storage GET: one MISS, the rest COALESCED", async () => {
    storage.seed("bkt", "a", "shared");
    const gate = deferred();
    storage.gate = () => gate.promise;
    const c = cache();
    const all = Array.from({ length: 1000 }, () => c.get("bkt", "a"));
    await tick();
    gate.release();
    const results = await Promise.all(all);
    expect(storage.calls.get).toBe(1);
    expect(results.filter((r) => r.status === "MISS")).toHaveLength(1);
    expect(results.filter((r) => r.status === "COALESCED")).toHaveLength(999);
    expect(new Set(await Promise.all(results.map(text)))).toEqual(new Set(["shared"]));
    expect(c.stats()).toMatchObject({ misses: 1, coalesced: 999 });
  });

  it("fails the followers with the leader's error, and the next call tries again", async () => {
    storage.seed("bkt", "a", "x");
    storage.down = true;
    const gate = deferred();
    storage.gate = () => gate.promise;
    const c = cache();
    const all = Array.from({ length: 5 }, () => c.get("bkt", "a").catch((e: unknown) => e));
    gate.release();
    const errors = await Promise.all(all);
    expect(errors.every((e) => e === errors[0] && isCacheError(e, "unavailable"))).toBe(true);
    expect(storage.calls.get).toBe(1);
    storage.down = false;
    storage.gate = undefined;
    expect((await c.get("bkt", "a")).status).toBe("MISS");
    expect(storage.calls.get).toBe(2);
  });

  it("does not cancel a shared load when one caller gives up", async () => {
    storage.seed("bkt", "a", "x");
    const gate = deferred();
    storage.gate = () => gate.promise;
    const c = cache();
    const ac = new AbortController();
    const leaving = c.get("bkt", "a", { signal: ac.signal });
    const staying = c.get("bkt", "a");
    await tick();
    ac.abort();
    await expect(leaving).rejects.toSatisfy(kindOf("cancelled"));
    gate.release();
    const r = await staying;
    expect([r.status, await text(r)]).toEqual(["MISS", "x"]);
    expect((await c.get("bkt", "a")).status).toBe("HIT");
  });

  it("aborts the storage call when its only caller gives up", async () => {
    storage.seed("bkt", "a", "x");
    const gate = deferred();
    storage.gate = () => gate.promise;
    const records: boolean[] = [];
    const c = cache({ breaker: { admit: () => ({ allowed: true }), record: (_a, ok) => records.push(ok) } });
    const ac = new AbortController();
    const p = c.get("bkt", "a", { signal: ac.signal });
    await tick();
    ac.abort();
    await expect(p).rejects.toSatisfy(kindOf("cancelled"));
    expect(storage.gets[0]?.signal?.aborted).toBe(true);
    gate.release();
    await tick();
    expect(records).toEqual([]); // a cancelled call is no breaker outcome
    expect(c.stats().entries).toBe(0);
  });
});

describe("large objects and ranges", () => {
  it("streams objects over the per-object cap uncached (BYPASS) in chunks of at most 64 KiB", async () => {
    const data = big(300_000);
    storage.seed("bkt", "big", data);
    storage.chunkSize = 100_000;
    const c = cache({ maxObjectBytes: 100_000 });
    const r = await c.get("bkt", "big");
    expect(r.status).toBe("BYPASS");
    const { chunks, bytes } = await bytesOf(r);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.from(bytes).equals(data)).toBe(true);
    expect((await c.get("bkt", "big")).status).toBe("BYPASS");
    expect(c.stats()).toMatchObject({ entries: 0, bypassed: 2 });
  });

  it("hands cached bodies out in chunks of at most 64 KiB", async () => {
    const data = big(90_000);
    storage.seed("bkt", "mid", data);
    const c = cache();
    await bytesOf(await c.get("bkt", "mid"));
    const hit = await c.get("bkt", "mid");
    const { chunks, bytes } = await bytesOf(hit);
    expect([hit.status, chunks]).toEqual(["HIT", [64 * 1024, 90_000 - 64 * 1024]]);
    expect(Buffer.from(bytes).equals(data)).toBe(true);
  });

  it("lets the followers of a bypassing leader make their own storage calls", async () => {
    storage.seed("bkt", "big", big(200_000));
    const gate = deferred();
    storage.gate = () => gate.promise;
    const c = cache();
    const all = Array.from({ length: 3 }, () => c.get("bkt", "big"));
    await tick();
    gate.release();
    const results = await Promise.all(all);
    expect(results.map((r) => r.status)).toEqual(["BYPASS", "BYPASS", "BYPASS"]);
    expect((await Promise.all(results.map(bytesOf))).map((b) => b.bytes.byteLength)).toEqual([
      200_000, 200_000, 200_000,
    ]);
    expect(storage.calls.get).toBe(3);
    expect(storage.openBodies).toBe(0);
  });

  it("cuts ranges from a cached object", async () => {
    storage.seed("bkt", "a", "0123456789");
    const c = cache();
    await c.get("bkt", "a");
    const r = await c.get("bkt", "a", { range: { start: 2, end: 4 } });
    expect([r.status, r.range, await text(r)]).toEqual(["HIT", { start: 2, end: 4 }, "234"]);
    expect(await text(await c.get("bkt", "a", { range: { suffix: 3 } }))).toBe("789");
    expect(await text(await c.get("bkt", "a", { range: { start: 8, end: 100 } }))).toBe("89");
    const e = await c.get("bkt", "a", { range: { start: 10 } }).catch((x: unknown) => x);
    expect(isCacheError(e, "range-not-satisfiable") && e.objectSize).toBe(10);
    expect(storage.calls.get).toBe(1);
  });

  it("passes a range to storage on a miss and caches nothing partial", async () => {
    storage.seed("bkt", "a", "0123456789");
    const c = cache();
    const r = await c.get("bkt", "a", { range: { start: 5 } });
    expect([r.status, r.range, await text(r)]).toEqual(["BYPASS", { start: 5, end: 9 }, "56789"]);
    expect(storage.gets[0]?.range).toEqual({ start: 5 });
    expect(c.stats().entries).toBe(0);
    await expect(c.get("bkt", "a", { range: { start: 3, end: 1 } })).rejects.toSatisfy(kindOf("invalid-argument"));
    expect(storage.calls.get).toBe(1);
  });

  it("serves a range of a large object from storage even after a full read", async () => {
    storage.seed("bkt", "big", big(200_000));
    const c = cache();
    await bytesOf(await c.get("bkt", "big"));
    const r = await c.get("bkt", "big", { range: { start: 199_990 } });
    expect([r.status, (await bytesOf(r)).bytes.byteLength]).toEqual(["BYPASS", 10]);
  });
});

describe("conditional reads", () => {
  it("answers If-None-Match from the cache (lists, weak tags, *)", async () => {
    storage.seed("bkt", "a", "x");
    const c = cache();
    await c.get("bkt", "a");
    for (const ifNoneMatch of ['"v1"', 'W/"v1"', '"zz", "v1"', "*"]) {
      const r = await c.get("bkt", "a", { ifNoneMatch });
      expect([r.status, r.notModified, (await bytesOf(r)).bytes.byteLength]).toEqual(["HIT", true, 0]);
    }
    const changed = await c.get("bkt", "a", { ifNoneMatch: '"v0"' });
    expect([changed.notModified, await text(changed)]).toEqual([false, "x"]);
    expect(storage.calls.get).toBe(1);
  });

  it("answers If-Modified-Since, ignoring it when If-None-Match is present", async () => {
    const meta = storage.seed("bkt", "a", "x");
    const c = cache();
    await c.get("bkt", "a");
    expect((await c.get("bkt", "a", { ifModifiedSince: meta.lastModified })).notModified).toBe(true);
    expect(
      (await c.get("bkt", "a", { ifModifiedSince: new Date(meta.lastModified.getTime() - 1000) })).notModified,
    ).toBe(false);
    expect((await c.get("bkt", "a", { ifNoneMatch: '"no"', ifModifiedSince: meta.lastModified })).notModified).toBe(
      false,
    );
  });

  it("evaluates conditions before the range, and on a bypass closes the unwanted body", async () => {
    storage.seed("bkt", "big", big(200_000));
    const c = cache();
    const r = await c.get("bkt", "big", { ifNoneMatch: '"v1"' });
    expect([r.status, r.notModified]).toEqual(["BYPASS", true]);
    expect(storage.openBodies).toBe(0);
    const ranged = await c.get("bkt", "big", { ifNoneMatch: '"v1"', range: { start: 999_999 } });
    expect(ranged.notModified).toBe(true);
  });
});

describe("head", () => {
  it("uses a fresh copy, else storage; an unchanged etag revalidates the copy", async () => {
    storage.seed("bkt", "a", "hello");
    const c = cache();
    expect((await c.head("bkt", "a")).status).toBe("MISS");
    expect(storage.calls.head).toBe(1);
    await c.get("bkt", "a");
    const h = await c.head("bkt", "a");
    expect([h.status, h.meta.size]).toEqual(["HIT", 5]);
    expect(storage.calls.head).toBe(1);
    now += 2_000;
    expect((await c.head("bkt", "a")).status).toBe("REVALIDATED");
    expect((await c.get("bkt", "a")).status).toBe("HIT");
    now += 2_000;
    storage.seed("bkt", "a", "changed");
    expect((await c.head("bkt", "a")).status).toBe("MISS");
    expect(await text(await c.get("bkt", "a"))).toBe("changed");
  });
});

describe("write path", () => {
  it("keeps the written body once storage acknowledged a put (write-through), and publishes the change", async () => {
    storage.seed("bkt", "a", "old");
    const events: Invalidation[] = [];
    const c = cache();
    c.onInvalidation((e) => events.push(e));
    await c.get("bkt", "a");
    now = 1_000_700;
    const put = await c.put("bkt", "a", body("new"), { contentType: "text/plain", metadata: { Owner: "ops" } });
    expect(put).toEqual({ etag: '"v2"', size: 3 });
    const r = await c.get("bkt", "a");
    expect([r.status, await text(r)]).toEqual(["HIT", "new"]);
    // What storage would answer: its etag, the type and metadata
    // written (names in lower case), the second of the acknowledgement.
    expect(r.meta).toEqual({
      size: 3,
      contentType: "text/plain",
      etag: '"v2"',
      lastModified: new Date(1_000_000),
      metadata: { owner: "ops" },
    });
    expect(storage.calls.get).toBe(1);
    expect(events).toEqual([{ bucket: "bkt", key: "a", prefix: false, cause: "put", sequence: 1 }]);
  });

  it("keeps a body whose producer reuses one buffer for every chunk", async () => {
    const c = cache();
    const reused = new Uint8Array(2);
    const chunks = {
      async *[Symbol.asyncIterator]() {
        for (const pair of ["ab", "cd", "ef"]) {
          reused.set(new TextEncoder().encode(pair));
          yield reused;
        }
      },
    };
    await c.put("bkt", "a", chunks);
    const r = await c.get("bkt", "a");
    expect([r.status, await text(r)]).toEqual(["HIT", "abcdef"]);
  });

  it("does not keep a body over maxObjectBytes: the next read goes to storage", async () => {
    const c = cache({ maxObjectBytes: 1_000 });
    const bytes = big(5_000);
    await c.put("bkt", "a", {
      async *[Symbol.asyncIterator]() {
        for (let at = 0; at < bytes.length; at += 700) yield bytes.subarray(at, at + 700);
      },
    });
    const r = await c.get("bkt", "a");
    expect(r.status).toBe("BYPASS");
    expect((await bytesOf(r)).bytes).toEqual(bytes);
    expect(storage.calls.get).toBe(1);
  });

  it("keeps nothing when two puts of a key overlapped: storage holds one, the cache can't tell which", async () => {
    const c = cache();
    const first = deferred();
    storage.putGate = () => first.promise;
    const p1 = c.put("bkt", "a", body("one"));
    await tick();
    storage.putGate = undefined;
    await c.put("bkt", "a", body("two"));
    first.release();
    await p1;
    const r = await c.get("bkt", "a");
    expect([r.status, await text(r)]).toEqual(["MISS", "one"]); // storage's own answer: the last it stored
    expect((await c.get("bkt", "a")).status).toBe("HIT");
  });

  it("a delete that overlapped a put remembers nothing either", async () => {
    storage.seed("bkt", "a", "old");
    const c = cache();
    const slow = deferred();
    storage.putGate = () => slow.promise;
    const putting = c.put("bkt", "a", body("new"));
    await tick();
    await c.delete("bkt", "a");
    slow.release();
    await putting;
    const r = await c.get("bkt", "a");
    expect([r.status, await text(r)]).toEqual(["MISS", "new"]);
  });

  it("keeps the old copy when the put fails", async () => {
    storage.seed("bkt", "a", "old");
    const events: Invalidation[] = [];
    const c = cache();
    c.onInvalidation((e) => events.push(e));
    await c.get("bkt", "a");
    storage.down = true;
    await expect(c.put("bkt", "a", body("new"))).rejects.toSatisfy(kindOf("unavailable"));
    const r = await c.get("bkt", "a");
    expect([r.status, await text(r)]).toEqual(["HIT", "old"]);
    expect(events).toEqual([]);
  });

  it("never stores the old body from a read that began before a put was acknowledged", async () => {
    storage.seed("bkt", "a", "old");
    const c = cache();
    const slow = deferred();
    storage.gate = () => slow.promise; // this read has read "old" and is slow to answer
    const before = c.get("bkt", "a");
    await tick();
    storage.gate = undefined;
    await c.put("bkt", "a", body("new"));
    // A read after the acknowledgement does not join the old load.
    const after = await c.get("bkt", "a");
    expect([after.status, await text(after)]).toEqual(["HIT", "new"]);
    slow.release();
    expect(await text(await before)).toBe("old"); // it began before the write: allowed
    expect(await text(await c.get("bkt", "a"))).toBe("new");
    now += 500;
    expect(await text(await c.get("bkt", "a"))).toBe("new");
  });

  it("never stores the old body when the stale load finishes last with an empty cache", async () => {
    storage.seed("bkt", "a", "old");
    const c = cache();
    const slow = deferred();
    storage.gate = () => slow.promise;
    const before = c.get("bkt", "a");
    await tick();
    storage.gate = undefined;
    await c.put("bkt", "a", body("new"));
    slow.release();
    await text(await before);
    const r = await c.get("bkt", "a");
    expect([r.status, await text(r)]).toEqual(["HIT", "new"]);
  });

  it("does not let a revalidation that overlapped a put refresh or restore anything", async () => {
    storage.seed("bkt", "a", "old");
    const c = cache();
    await c.get("bkt", "a");
    now += 2_000;
    const slow = deferred();
    storage.gate = () => slow.promise;
    const revalidating = c.get("bkt", "a");
    await tick();
    storage.gate = undefined;
    await c.put("bkt", "a", body("new"));
    slow.release();
    await revalidating;
    expect(await text(await c.get("bkt", "a"))).toBe("new");
  });

  it("write-then-read never returns an old body (randomised interleavings)", async () => {
    const c = cache({ ttlMs: 50, maxStaleMs: 200 });
    storage.seed("bkt", "k", "0");
    let acknowledged = 0;
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    storage.gate = async () => {
      for (let hops = rand(4); hops > 0; hops--) await tick();
    };
    const readers: Promise<void>[] = [];
    for (let v = 1; v <= 40; v++) {
      const floor = acknowledged;
      readers.push(
        c.get("bkt", "k").then(async (r) => {
          expect(Number(await text(r))).toBeGreaterThanOrEqual(floor);
        }),
      );
      now += rand(30);
      await c.put("bkt", "k", body(String(v)));
      acknowledged = v;
      const r = await c.get("bkt", "k");
      expect(await text(r)).toBe(String(v));
    }
    await Promise.all(readers);
  });

  it("deletes in storage, then remembers the 404 and publishes it", async () => {
    storage.seed("bkt", "a", "x");
    const events: Invalidation[] = [];
    const c = cache();
    c.onInvalidation((e) => events.push(e));
    await c.get("bkt", "a");
    await c.delete("bkt", "a");
    await expect(c.get("bkt", "a")).rejects.toSatisfy(kindOf("not-found"));
    expect(storage.calls.get).toBe(1);
    expect(events.map((e) => [e.cause, e.sequence])).toEqual([["delete", 1]]);
    await c.delete("bkt", "a"); // idempotent
  });

  it("keeps the cache when a delete fails", async () => {
    storage.seed("bkt", "a", "x");
    const c = cache();
    await c.get("bkt", "a");
    storage.down = true;
    await expect(c.delete("bkt", "a")).rejects.toSatisfy(kindOf("unavailable"));
    expect((await c.get("bkt", "a")).status).toBe("HIT");
  });
});

describe("invalidation", () => {
  it("drops a key or a prefix, counts them and publishes purges with a growing sequence", async () => {
    for (const k of ["img/1", "img/2", "img/3", "doc/1"]) storage.seed("bkt", k, k);
    storage.seed("other", "img/1", "o");
    const events: Invalidation[] = [];
    const c = cache();
    const stop = c.onInvalidation((e) => events.push(e));
    for (const k of ["img/1", "img/2", "img/3", "doc/1"]) await c.get("bkt", k);
    await c.get("other", "img/1");
    expect(c.invalidate("bkt", "img/1")).toBe(1);
    expect(c.invalidate("bkt", "img/1")).toBe(0);
    expect(c.invalidate("bkt", "img/", { prefix: true })).toBe(2);
    expect(c.invalidate("bkt", "", { prefix: true })).toBe(1);
    stop();
    expect(c.invalidate("other", "img/1", { publish: false })).toBe(1);
    expect(events.map((e) => [e.key, e.prefix, e.cause, e.sequence])).toEqual([
      ["img/1", false, "purge", 1],
      ["img/1", false, "purge", 2],
      ["img/", true, "purge", 3],
      ["", true, "purge", 4],
    ]);
    expect(c.stats().entries).toBe(0);
  });

  it("keeps a load that overlapped a prefix purge from storing", async () => {
    storage.seed("bkt", "img/1", "old");
    const c = cache();
    const slow = deferred();
    storage.gate = () => slow.promise;
    const before = c.get("bkt", "img/1");
    await tick();
    storage.gate = undefined;
    c.invalidate("bkt", "img/", { prefix: true });
    slow.release();
    await before;
    expect((await c.get("bkt", "img/1")).status).toBe("MISS");
  });
});

describe("expireAll (invalidations may have been missed)", () => {
  it("keeps every copy but revalidates it on the next read: REVALIDATED if unchanged, MISS if changed", async () => {
    for (const k of ["same", "changed"]) storage.seed("bkt", k, `${k} v1`);
    const c = cache();
    const events: Invalidation[] = [];
    c.onInvalidation((e) => events.push(e));
    await c.get("bkt", "same");
    await c.get("bkt", "changed");
    storage.seed("bkt", "changed", "changed v2"); // a write whose invalidation never arrived
    expect((await c.get("bkt", "changed")).status).toBe("HIT"); // the missed write, served until...
    expect(c.expireAll()).toBe(2);
    expect(c.stats().entries).toBe(2); // nothing dropped: no stampede on storage
    now += 1;
    const same = await c.get("bkt", "same");
    expect([same.status, await text(same)]).toEqual(["REVALIDATED", "same v1"]);
    expect(storage.gets.at(-1)?.ifNoneMatch).toBe('"v1"');
    const changed = await c.get("bkt", "changed");
    expect([changed.status, await text(changed)]).toEqual(["MISS", "changed v2"]);
    expect((await c.get("bkt", "same")).status).toBe("HIT"); // fresh again after the 304
    expect(events).toEqual([]); // a local matter: nothing published
  });

  it("still serves the kept copies STALE when storage fails", async () => {
    storage.seed("bkt", "a", "hello");
    const c = cache();
    await c.get("bkt", "a");
    c.expireAll();
    storage.down = true;
    const r = await c.get("bkt", "a");
    expect([r.status, await text(r)]).toEqual(["STALE", "hello"]);
  });

  it("forgets cached 404s: a missed put of that key shows on the next read", async () => {
    const c = cache();
    await expect(c.get("bkt", "late")).rejects.toSatisfy(kindOf("not-found"));
    storage.seed("bkt", "late", "here now");
    c.expireAll();
    expect(await text(await c.get("bkt", "late"))).toBe("here now");
  });

  it("keeps a load that began before it from storing, and later reads from joining it", async () => {
    storage.seed("bkt", "a", "old");
    const c = cache();
    const slow = deferred();
    storage.gate = () => slow.promise; // this read has read "old" and is slow to answer
    const before = c.get("bkt", "a");
    await tick();
    storage.gate = undefined;
    storage.seed("bkt", "a", "new"); // written elsewhere; its invalidation was missed
    c.expireAll();
    now += 1;
    const after = await c.get("bkt", "a");
    expect([after.status, await text(after)]).toEqual(["MISS", "new"]);
    slow.release();
    expect(await text(await before)).toBe("old"); // it began before: its own callers may have it
    const later = await c.get("bkt", "a");
    expect([later.status, await text(later)]).toEqual(["HIT", "new"]);
  });
});

describe("bounds and housekeeping", () => {
  it("evicts least recently used objects by bytes and counts evictions", async () => {
    for (const k of ["a", "b", "c"]) storage.seed("bkt", k, big(40_000));
    const c = cache({ maxBytes: 100_000, maxObjectBytes: 50_000 });
    await c.get("bkt", "a");
    await c.get("bkt", "b");
    await c.get("bkt", "a");
    await c.get("bkt", "c"); // b is the least recently used
    expect((await c.get("bkt", "a")).status).toBe("HIT");
    expect((await c.get("bkt", "b")).status).toBe("MISS");
    const stats = c.stats();
    expect(stats.evictions).toBeGreaterThanOrEqual(1);
    expect(stats.bytes).toBeLessThanOrEqual(stats.maxBytes);
    expect(stats.maxBytes).toBe(100_000);
  });

  it("sweeps entries past max stale with the injected clock", async () => {
    storage.seed("bkt", "a", "x");
    const c = cache();
    await c.get("bkt", "a");
    await c.get("bkt", "missing").catch(() => {});
    expect(c.sweep()).toBe(0);
    now += 200;
    expect(c.sweep()).toBe(1); // the 404
    now += 10_000;
    expect(c.sweep()).toBe(1);
    expect(c.stats().entries).toBe(0);
  });

  it("rejects bad names and options", async () => {
    const c = cache();
    await expect(c.get("", "a")).rejects.toSatisfy(kindOf("invalid-argument"));
    await expect(c.get("bkt", "")).rejects.toSatisfy(kindOf("invalid-argument"));
    await expect(c.head("b\u0000x", "a")).rejects.toSatisfy(kindOf("invalid-argument"));
    expect(() => c.invalidate("bkt", "")).toThrow(CacheError);
    expect(() => cache({ maxObjectBytes: 2_000_000 })).toThrow(RangeError);
    expect(storage.calls.get).toBe(0);
  });
});
