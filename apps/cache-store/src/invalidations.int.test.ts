import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheV1 } from "@breakwater/proto";
import { get, startCacheStoreStack, type CacheClient, type CacheStoreStack } from "./__fixtures__/cache-store-stack.js";

type Event = cacheV1.WatchInvalidationsResponse["event"];

/** A WatchInvalidations subscription read one event at a time. */
function subscribe(client: CacheClient, bucket = ""): { next(): Promise<Event>; close(): Promise<void> } {
  const iterator = client.watchInvalidations({ bucket })[Symbol.asyncIterator]();
  return {
    async next() {
      const r = await iterator.next();
      if (r.done === true) throw new Error("the subscription ended");
      return r.value.event;
    },
    async close() {
      await iterator.return?.(); // cancels the call
    },
  };
}

function invalidation(event: Event): cacheV1.Invalidation {
  if (event.case !== "invalidation") throw new Error(`expected an invalidation, got ${event.case}`);
  return event.value;
}

describe("WatchInvalidations streams this replica's invalidations in order", () => {
  let stack: CacheStoreStack;

  beforeAll(async () => {
    stack = await startCacheStoreStack({ buckets: ["default", "other"] });
  });
  afterAll(async () => {
    if (stack !== undefined) expect(await stack.close()).toBe(0); // a clean SIGTERM shutdown
  });

  it("answers `subscribed` first, then put, delete and purges with growing sequence and the right cause", async () => {
    const watch = subscribe(stack.newClient());
    const first = await watch.next();
    expect(first.case).toBe("subscribed");
    expect(first.case === "subscribed" && first.value.replicaId).toMatch(/^[0-9a-f-]{36}$/);

    await stack.put("w/a.txt", "a");
    await stack.client.deleteObject({ bucket: "default", key: "w/a.txt" });
    for (const k of ["w/dir/1", "w/dir/2", "w/dir/3"]) {
      await stack.put(k, k);
      await get(stack.client, k); // cached, so the prefix purge below drops three entries
    }
    const purged = await stack.client.invalidateCache({ bucket: "default", key: "w/dir/", prefix: true });
    expect(purged.invalidatedEntries).toBe(3n);
    await stack.client.invalidateCache({ bucket: "default", key: "w/single" });
    // local_only drops this replica's copy without telling anyone: not on the stream.
    await stack.client.invalidateCache({ bucket: "default", key: "w/quiet", localOnly: true });
    await stack.client.invalidateCache({ bucket: "default", key: "w/after-quiet" });

    const seen: cacheV1.Invalidation[] = [];
    for (let i = 0; i < 8; i++) seen.push(invalidation(await watch.next()));
    expect(seen.map((s) => [s.key, s.prefix, cacheV1.InvalidationCause[s.cause]])).toEqual([
      ["w/a.txt", false, "PUT"],
      ["w/a.txt", false, "DELETE"],
      ["w/dir/1", false, "PUT"],
      ["w/dir/2", false, "PUT"],
      ["w/dir/3", false, "PUT"],
      ["w/dir/", true, "PURGE"],
      ["w/single", false, "PURGE"],
      ["w/after-quiet", false, "PURGE"],
    ]);
    expect(seen.every((s) => s.bucket === "default")).toBe(true);
    const sequences = seen.map((s) => s.sequence);
    for (let i = 1; i < sequences.length; i++) expect(sequences[i]).toBe(sequences[i - 1]! + 1n);
    await watch.close();

    // The purged entries are gone from the cache: the next read asks S3 again.
    const gets = stack.s3Gets("w/dir/1");
    expect((await get(stack.client, "w/dir/1")).status).toBe(cacheV1.CacheStatus.MISS);
    expect(stack.s3Gets("w/dir/1")).toBe(gets + 1);
  });

  it("filters by bucket, and every subscriber sees the same sequence", async () => {
    const all = subscribe(stack.newClient());
    const onlyOther = subscribe(stack.newClient(), "other");
    expect((await all.next()).case).toBe("subscribed");
    expect((await onlyOther.next()).case).toBe("subscribed");

    await stack.put("in-default.txt", "d");
    await stack.put("in-other.txt", "o", { bucket: "other" });

    const a1 = invalidation(await all.next());
    const a2 = invalidation(await all.next());
    const o1 = invalidation(await onlyOther.next());
    expect([a1.bucket, a2.bucket]).toEqual(["default", "other"]);
    expect([o1.bucket, o1.key, o1.sequence]).toEqual(["other", "in-other.txt", a2.sequence]);
    await all.close();
    await onlyOther.close();
  });

  it("a subscriber that goes away is forgotten; the service keeps publishing to the others", async () => {
    const leaving = subscribe(stack.newClient());
    const staying = subscribe(stack.newClient());
    expect((await leaving.next()).case).toBe("subscribed");
    expect((await staying.next()).case).toBe("subscribed");
    await leaving.close();
    await stack.put("after-leave.txt", "x");
    expect(invalidation(await staying.next()).key).toBe("after-leave.txt");
    await staying.close();
  });
});

describe("WatchInvalidations during a shutdown", () => {
  let stack: CacheStoreStack;

  beforeAll(async () => {
    stack = await startCacheStoreStack({ env: { SHUTDOWN_GRACE_MS: "5000" } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("a write in flight at SIGTERM finishes; subscribers get its invalidation before their stream ends", async () => {
    const watch = subscribe(stack.newClient());
    expect((await watch.next()).case).toBe("subscribed");
    stack.proxy.setMode({ kind: "delay", ms: 800 }); // S3 is slow: the put is still in flight at SIGTERM
    const putting = stack.client.putObject(
      (async function* () {
        yield { part: { case: "header" as const, value: { bucket: "default", key: "drain/late.txt" } } };
        yield { part: { case: "chunk" as const, value: Buffer.from("written during the drain") } };
      })(),
    );
    await expect.poll(() => stack.proxy.requests.length, { interval: 10, timeout: 5_000 }).toBeGreaterThan(0);
    const exited = stack.process.stop();
    expect((await putting).size).toBe(24n);
    const seen = invalidation(await watch.next());
    expect([seen.key, cacheV1.InvalidationCause[seen.cause]]).toEqual(["drain/late.txt", "PUT"]);
    await expect(watch.next()).rejects.toThrow(/ended/); // then the stream ends
    expect(await exited).toBe(0);
  });
});
