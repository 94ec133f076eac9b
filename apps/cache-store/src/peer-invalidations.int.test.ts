import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { cacheV1, healthV1 } from "@breakwater/proto";
import { createOwnerOrder } from "@breakwater/cache";
import { grpcTarget } from "@breakwater/server-kit";
import { eventually, freePort, promSample, runServiceToExit } from "@breakwater/testkit";
import { failure, get, put, type CacheClient } from "./__fixtures__/cache-store-stack.js";
import { isGone, metricsOf, startReplicaFleet, type Replica, type ReplicaFleet } from "./__fixtures__/replica-fleet.js";

const WRITES = 200;

/** One read of `key`: its body, or "404". */
async function bodyOf(client: CacheClient, key: string): Promise<string> {
  return get(client, key).then(
    (r) => r.body.toString(),
    (err: unknown) => {
      if ((err as { code?: Code }).code === Code.NotFound) return "404";
      throw err;
    },
  );
}

/**
 * Reads `key` on `client` until it answers `want`; answers every other body
 * read meanwhile, for the caller to check (only the previous one may show).
 * How fast an invalidation arrives is the bench's business (tools/bench); the
 * deadline here only turns a lost invalidation into a failure.
 */
async function readUntil(client: CacheClient, key: string, want: string): Promise<string[]> {
  const others: string[] = [];
  await eventually(
    async () => {
      const body = await bodyOf(client, key);
      if (body === want) return true;
      others.push(body);
      return false;
    },
    { timeoutMs: 10_000, everyMs: 5, what: `${key} reads ${JSON.stringify(want)}` },
  );
  return others;
}

/** Every element is `allowed` (an empty list passes). */
const onlySaw = (others: string[], allowed: string): void => expect(others.filter((o) => o !== allowed)).toEqual([]);

const streamLive = (text: string, peer: Replica | string): number | undefined =>
  promSample(text, "cache_peer_invalidation_stream_live", { peer: typeof peer === "string" ? peer : peer.url });

describe("replicas follow each other's invalidations (CACHE_STORE_PEERS)", () => {
  let fleet: ReplicaFleet;
  let a: Replica;
  let b: Replica;
  let c: Replica;
  let deadPeer: string;
  /**
   * `<prefix><n>`, the first such key that B owns among A, B and C: B caches
   * it itself (a key another replica owns, B would read from its owner).
   */
  let ownedByB: (prefix: string) => string;

  beforeAll(async () => {
    deadPeer = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    fleet = await startReplicaFleet({
      names: ["a", "b", "c"],
      // C gets the fleet-wide list, itself included, and a peer that never answers.
      extraPeers: { c: (own) => [own, deadPeer] },
      // Long, so that an exit that waited for it shows (last test).
      env: { SHUTDOWN_GRACE_MS: "60s" },
    });
    [a, b, c] = fleet.replicas as [Replica, Replica, Replica];
    const order = createOwnerOrder([a, b, c].map((r) => grpcTarget(r.url)));
    ownedByB = (prefix) => {
      for (let n = 0; ; n++) if (order.owner("default", `${prefix}${n}`) === grpcTarget(b.url)) return `${prefix}${n}`;
    };
    // A started before its peers existed: wait until every stream has (re)connected.
    for (const r of fleet.replicas) {
      const others = fleet.replicas.filter((o) => o !== r);
      await eventually(
        async () => {
          const text = await metricsOf(r);
          return others.every((o) => streamLive(text, o) === 1);
        },
        { timeoutMs: 15_000, what: `${r.name}'s peer streams live` },
      );
    }
  });

  afterAll(async () => {
    // Normally closed by the last test; this is for a failure before it.
    if (fleet !== undefined) await fleet.close();
  });

  it(`a write through A reaches B and C: over ${WRITES} writes, never older than the previous body`, async () => {
    const key = "peer/k.txt";
    await put(a.client, key, "v0");
    for (const r of [b, c]) {
      expect((await get(r.client, key)).body.toString()).toBe("v0");
      // cached: only an invalidation changes it
      expect((await get(r.client, key)).status).toBe(cacheV1.CacheStatus.HIT);
    }
    for (let i = 1; i <= WRITES; i++) {
      const body = `v${i}`;
      await put(a.client, key, body);
      // The previous body at worst, never an older one.
      for (const r of [b, c]) onlySaw(await readUntil(r.client, key, body), `v${i - 1}`);
      // Read-your-writes on A (written through).
      const own = await get(a.client, key);
      expect([own.body.toString(), own.status]).toEqual([body, cacheV1.CacheStatus.HIT]);
    }
    const text = await metricsOf(b);
    const applied = promSample(text, "cache_peer_invalidations_applied_total", { peer: a.url });
    expect(applied).toBeGreaterThanOrEqual(WRITES + 1);
  }, 120_000);

  it("a delete through A reaches B, and so does the next put through B's cached 404", async () => {
    const key = "peer/deleted.txt";
    await put(a.client, key, "here");
    await readUntil(b.client, key, "here");
    await a.client.deleteObject({ bucket: "default", key });
    onlySaw(await readUntil(b.client, key, "404"), "here");
    expect((await failure(get(b.client, key))).code).toBe(Code.NotFound); // B now caches the 404
    await put(a.client, key, "back");
    onlySaw(await readUntil(b.client, key, "back"), "404");
  });

  it("InvalidateCache of a key or a prefix on A drops B's copies too (storage untouched)", async () => {
    const dir1 = ownedByB("peer/dir/");
    const keys = [dir1, ownedByB(`${dir1}-`), ownedByB("peer/single-")];
    for (const k of keys) await fleet.seed(k, `${k} old`);
    for (const k of keys) await get(b.client, k);
    // Storage changes behind every replica's back; B still serves its copies...
    for (const k of keys) await fleet.seed(k, `${k} new`);
    expect((await get(b.client, dir1)).body.toString()).toBe(`${dir1} old`);
    // ...until an operator purges through A (which holds none of them itself).
    expect(
      (await a.client.invalidateCache({ bucket: "default", key: "peer/dir/", prefix: true })).invalidatedEntries,
    ).toBe(0n);
    await a.client.invalidateCache({ bucket: "default", key: keys[2]! });
    for (const k of keys) onlySaw(await readUntil(b.client, k, `${k} new`), `${k} old`);
  });

  it("applied invalidations are not republished: B's WatchInvalidations carries only B's own", async () => {
    const watch = b.client.watchInvalidations({ bucket: "" })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.event.case).toBe("subscribed");
    await put(a.client, "peer/through-a", "x");
    await a.client.invalidateCache({ bucket: "default", key: "peer/", prefix: true });
    await readUntil(b.client, "peer/through-a", "x"); // B has applied both by now
    await put(b.client, "peer/through-b", "y");
    const next = (await watch.next()).value?.event;
    expect(next?.case === "invalidation" && [next.value.key, cacheV1.InvalidationCause[next.value.cause]]).toEqual([
      "peer/through-b",
      "PUT",
    ]);
    await watch.return?.();
  });

  it("/metrics: one live gauge per peer; C skips itself and shows its dead peer at 0; everyone SERVING", async () => {
    const text = await metricsOf(c);
    expect([streamLive(text, a), streamLive(text, b), streamLive(text, deadPeer), streamLive(text, c)]).toEqual([
      1,
      1,
      0,
      undefined,
    ]);
    expect(c.process.output.some((l) => l.includes("CACHE_STORE_PEERS lists this replica itself"))).toBe(true);
    // One warning for the dead peer, not one per retry.
    const warnings = c.process.output.filter(
      (l) => l.includes('"msg":"peer invalidation stream down"') && l.includes(deadPeer),
    );
    expect(warnings).toHaveLength(1);
    for (const r of fleet.replicas) {
      const h = await r.health.check({ service: "breakwater.cache.v1.CacheService" });
      expect(h.status).toBe(healthV1.HealthCheckResponse_ServingStatus.SERVING);
    }
  });

  it("A killed: B keeps serving, SERVING; A back on its port: B resubscribes and revalidates its copies", async () => {
    // Keys B owns: with A down, B serves them from its own cache as before.
    const same = ownedByB("peer/outage/same-");
    const changed = ownedByB("peer/outage/changed-");
    await put(a.client, same, "same");
    await put(a.client, changed, "before");
    for (const k of [same, changed]) await get(b.client, k);
    const resyncsBefore = promSample(await metricsOf(b), "cache_peer_resyncs_total", { peer: a.url })!;
    const outputBefore = b.process.output.length;

    await a.kill();
    const aDown = async (): Promise<boolean> => streamLive(await metricsOf(b), a) === 0;
    await eventually(aDown, { timeoutMs: 10_000, what: "B sees A's stream down" });
    // B carries on: healthy, and serving its copies.
    const h = await b.health.check({ service: "breakwater.cache.v1.CacheService" });
    expect(h.status).toBe(healthV1.HealthCheckResponse_ServingStatus.SERVING);
    expect((await fetch(`${b.process.httpUrl}/healthz`)).status).toBe(200);
    const during = await get(b.client, same);
    expect([during.body.toString(), during.status]).toEqual(["same", cacheV1.CacheStatus.HIT]);
    // A write B never hears of: storage changes while the stream is down.
    await fleet.seed(changed, "after");

    await a.start(); // same gRPC port, a new replica id, an empty cache
    const aLive = async (): Promise<boolean> => streamLive(await metricsOf(b), a) === 1;
    await eventually(aLive, { timeoutMs: 10_000, what: "B's stream to A live again" });
    const text = await metricsOf(b);
    expect(promSample(text, "cache_peer_resyncs_total", { peer: a.url })).toBe(resyncsBefore + 1);

    const sameAfter = await get(b.client, same);
    expect([sameAfter.body.toString(), cacheV1.CacheStatus[sameAfter.status]]).toEqual(["same", "REVALIDATED"]);
    const changedAfter = await get(b.client, changed);
    expect([changedAfter.body.toString(), cacheV1.CacheStatus[changedAfter.status]]).toEqual(["after", "MISS"]);
    expect(cacheV1.CacheStatus[(await get(b.client, same)).status]).toBe("HIT");

    const logs = b.process.output.slice(outputBefore).filter((l) => l.includes(a.url));
    // once per outage, at warn
    expect(logs.filter((l) => l.includes('"msg":"peer invalidation stream down"'))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('"level":40'))).toHaveLength(1);
    expect(logs.some((l) => l.includes("peer invalidation stream live"))).toBe(true);

    // And A follows the others again: a write through B reaches it.
    await get(a.client, same);
    await put(b.client, same, "same v2");
    onlySaw(await readUntil(a.client, same, "same v2"), "same");
  }, 60_000);

  it("SIGTERM: each replica exits 0 without waiting out the grace (peers' streams, timers no obstacle)", async () => {
    const pids = fleet.replicas.map((r) => r.process.pid);
    const exits = await fleet.close();
    for (const exit of exits) {
      expect(exit.code).toBe(0);
      // SHUTDOWN_GRACE_MS is 60 s here: a stream or timer that held the exit would wait it out.
      expect(exit.ms).toBeLessThan(30_000);
    }
    expect(pids.every(isGone)).toBe(true);
  }, 60_000);
});

describe("CACHE_STORE_PEERS validation", () => {
  it("a bad peer URL is a configuration error naming it: exit 2", async () => {
    const { code, output } = await runServiceToExit("cache-store", {
      CACHE_STORE_PEERS: "http://127.0.0.1:1,cache-2:50051,ftp://x:443",
    });
    expect(code).toBe(2);
    expect(output).toContain("CACHE_STORE_PEERS");
    expect(output).toContain("cache-2:50051 (expected http://host:port or https://host:port)");
    expect(output).toContain("ftp://x:443 (expected");
  });
});
