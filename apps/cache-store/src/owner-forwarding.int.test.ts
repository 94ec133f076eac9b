import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheV1 } from "@breakwater/proto";
import { createOwnerOrder } from "@breakwater/cache";
import { grpcTarget } from "@breakwater/server-kit";
import { eventually, promSample } from "@breakwater/testkit";
import { get, put, readObject, type CacheClient } from "./__fixtures__/cache-store-stack.js";
import { metricsOf, startReplicaFleet, type Replica, type ReplicaFleet } from "./__fixtures__/replica-fleet.js";

const { ReadRoute } = cacheV1;

/** Replica `r`'s count of reads by route. */
async function reads(r: Replica, route: string): Promise<number> {
  return promSample(await metricsOf(r), "cache_owner_reads_total", { route }) ?? 0;
}

/** The first key `key-<i>` for which `accept(i)` holds. */
function findKey(prefix: string, accept: (key: string) => boolean): string {
  for (let i = 0; i < 10_000; i++) if (accept(`${prefix}-${i}`)) return `${prefix}-${i}`;
  throw new Error(`no key ${prefix}-* fits`);
}

/** Waits until every replica follows every other's invalidation stream. */
async function streamsLive(
  replicas: readonly Replica[],
  peerUrl: (of: Replica, peer: Replica) => string = (_, p) => p.url,
) {
  for (const r of replicas) {
    await eventually(
      async () => {
        const text = await metricsOf(r);
        return replicas
          .filter((o) => o !== r)
          .every((o) => promSample(text, "cache_peer_invalidation_stream_live", { peer: peerUrl(r, o) }) === 1);
      },
      { timeoutMs: 15_000, what: `${r.name}'s peer streams live` },
    );
  }
}

describe("any replica is a correct entry point: non-owners ask the key's owner", () => {
  let fleet: ReplicaFleet;
  let replicas: readonly Replica[];
  /** Who owns a key, as every replica computes it (members named 127.0.0.1:<port>). */
  let ownerOf: (key: string) => Replica;
  let dir: string;

  beforeAll(async () => {
    // An owner's breaker that opened while it was down lets a probe through soon (default: 30 s).
    dir = mkdtempSync(join(tmpdir(), "bw-owner-"));
    writeFileSync(join(dir, "breakers.yaml"), "defaults:\n  open_timeout: 300ms\n  max_open_timeout: 1s\n");
    fleet = await startReplicaFleet({
      names: ["a", "b", "c"],
      countS3: true,
      env: { CACHE_HOT_MAX_BYTES: "0", BREAKER_CONFIG: join(dir, "breakers.yaml") },
    });
    replicas = fleet.replicas;
    const order = createOwnerOrder(replicas.map((r) => grpcTarget(r.url)));
    ownerOf = (key) => replicas.find((r) => grpcTarget(r.url) === order.owner("default", key))!;
    await streamsLive(replicas);
  });

  afterAll(async () => {
    if (fleet !== undefined) await fleet.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("GetStats shows each replica's membership: itself and every member", async () => {
    const names = replicas.map((r) => grpcTarget(r.url)).sort();
    for (const r of replicas) {
      const stats = await r.client.getStats({});
      expect(stats.membership?.self).toBe(grpcTarget(r.url));
      expect([...(stats.membership?.members ?? [])].sort()).toEqual(names);
    }
  });

  it("a cold key asked of all three replicas at once costs one S3 GET in all", async () => {
    // One key owned by each replica, so that every replica is once the owner and twice a forwarder.
    const keys = replicas.map((owner) => findKey(`cold-${owner.name}`, (k) => ownerOf(k) === owner));
    for (const key of keys) await fleet.seed(key, `body of ${key}`);
    const before = await Promise.all(replicas.map((r) => reads(r, "forwarded")));
    for (const key of keys) {
      const answers = await Promise.all(replicas.map((r) => get(r.client, key)));
      for (const [i, answer] of answers.entries()) {
        expect(answer.body.toString()).toBe(`body of ${key}`);
        const route = replicas[i] === ownerOf(key) ? ReadRoute.OWNED : ReadRoute.FORWARDED;
        expect(answer.first.route, `${replicas[i]!.name} reading ${key}`).toBe(route);
      }
      expect(fleet.s3Gets(key), `S3 GETs of ${key}`).toBe(1);
    }
    const after = await Promise.all(replicas.map((r) => reads(r, "forwarded")));
    // Each replica forwarded the two keys it does not own.
    expect(after.map((n, i) => n - before[i]!)).toEqual([2, 2, 2]);
    for (const key of keys) expect(fleet.s3Gets(key)).toBe(1);
  });

  it("ranged and conditional reads through a non-owner are the owner's answers", async () => {
    const key = findKey("ranged", (k) => ownerOf(k) === replicas[0]);
    await fleet.seed(key, "0123456789");
    const ranged = await readObject(replicas[1]!.client, { bucket: "default", key, range: { start: 2n, end: 4n } });
    expect([ranged.body.toString(), ranged.first.contentRange?.start, ranged.first.route]).toEqual([
      "234",
      2n,
      ReadRoute.FORWARDED,
    ]);
    const etag = ranged.first.info!.etag;
    const same = await readObject(replicas[2]!.client, { bucket: "default", key, ifNoneMatch: etag });
    expect([same.first.notModified, same.body.length]).toEqual([true, 0]);
  });

  it("HEAD through a non-owner is answered by the owner", async () => {
    const key = findKey("head", (k) => ownerOf(k) === replicas[0]);
    await fleet.seed(key, "head body");
    const answer = await replicas[1]!.client.headObject({ bucket: "default", key });
    expect(answer.route).toBe(ReadRoute.FORWARDED);
    expect(answer.info?.size).toBe(9n);
  });

  it("a write through any replica, then a read through every replica: never the old body", async () => {
    // Warmed on every replica, then written by each replica in turn (the owner once, non-owners twice).
    for (const [n, prefix] of ["ryw-a", "ryw-b", "ryw-c"].entries()) {
      const key = findKey(prefix, (k) => ownerOf(k) === replicas[n]);
      await fleet.seed(key, "v0");
      for (const r of replicas) expect((await get(r.client, key)).body.toString()).toBe("v0");
      for (const [i, writer] of replicas.entries()) {
        const body = `v${i + 1} by ${writer.name}`;
        await put(writer.client, key, body);
        for (const reader of replicas) {
          expect((await get(reader.client, key)).body.toString(), `${reader.name} after ${writer.name}'s write`).toBe(
            body,
          );
        }
      }
    }
  });

  it("the owner down: non-owners fall back to storage and say so; the owner back: forwarding resumes", async () => {
    const owner = replicas[2]!;
    const others = replicas.filter((r) => r !== owner);
    const key = findKey("down", (k) => ownerOf(k) === owner);
    await fleet.seed(key, "still here");
    for (const r of others) expect((await get(r.client, key)).first.route).toBe(ReadRoute.FORWARDED);
    const fallbacks = await Promise.all(others.map((r) => reads(r, "fallback")));
    await owner.kill();
    for (const r of others) {
      const answer = await get(r.client, key);
      expect(answer.body.toString()).toBe("still here");
      expect(answer.first.route, `${r.name} with the owner down`).toBe(ReadRoute.OWNER_FALLBACK);
      const head = await r.client.headObject({ bucket: "default", key });
      expect(head.route).toBe(ReadRoute.OWNER_FALLBACK);
    }
    for (const [i, r] of others.entries()) expect(await reads(r, "fallback")).toBe(fallbacks[i]! + 2);
    // Failures open A's breaker for the owner: then A does not even dial it, and still answers.
    const [a] = others as [Replica];
    const ownerBreaker = { breaker: `cache-store:${grpcTarget(owner.url)}` };
    await eventually(
      async () => {
        expect((await get(a.client, key)).first.route).toBe(ReadRoute.OWNER_FALLBACK);
        return promSample(await metricsOf(a), "cache_storage_breaker_state", ownerBreaker) === 2;
      },
      { timeoutMs: 10_000, what: "A's breaker for the owner open" },
    );
    expect((await get(a.client, key)).first.route).toBe(ReadRoute.OWNER_FALLBACK);
    await owner.start();
    for (const r of others) {
      await eventually(async () => (await get(r.client, key)).first.route === ReadRoute.FORWARDED, {
        timeoutMs: 15_000,
        what: `${r.name} forwards to the owner again`,
      });
    }
  });
});

describe("hot copies on a non-owner, and replicas that disagree on membership", () => {
  let fleet: ReplicaFleet;
  let p: Replica;
  let q: Replica;
  /** Lists P only; nobody follows W's invalidations. */
  let w: Replica;
  let pName: string;
  let qName: string;
  /** Q lists P as localhost:<port>, P calls itself 127.0.0.1:<port>: names differ, owners can disagree. */
  let pView: ReturnType<typeof createOwnerOrder>;
  let qView: ReturnType<typeof createOwnerOrder>;
  const localhostOf = (url: string): string => url.replace("127.0.0.1", "localhost");

  beforeAll(async () => {
    fleet = await startReplicaFleet({
      names: ["p", "q", "w"],
      peersOf: { p: (urls) => [urls.q!], q: (urls) => [localhostOf(urls.p!)], w: (urls) => [urls.p!] },
      // Long-lived hot copies: one that goes away here was dropped by an invalidation, not by age.
      env: { CACHE_HOT_MAX_BYTES: "1MiB", CACHE_HOT_TTL: "60s" },
    });
    [p, q, w] = fleet.replicas as [Replica, Replica, Replica];
    pName = grpcTarget(p.url);
    qName = grpcTarget(q.url);
    pView = createOwnerOrder([pName, qName]);
    qView = createOwnerOrder([qName, grpcTarget(localhostOf(p.url))]);
    await streamsLive([p, q], (of, peer) => (of === q ? localhostOf(peer.url) : peer.url));
    await eventually(
      async () => promSample(await metricsOf(w), "cache_peer_invalidation_stream_live", { peer: p.url }) === 1,
      { timeoutMs: 15_000, what: "W follows P" },
    );
  });

  afterAll(async () => {
    if (fleet !== undefined) await fleet.close();
  });

  const route = async (client: CacheClient, key: string): Promise<cacheV1.ReadRoute> =>
    (await get(client, key)).first.route;

  it("a non-owner serves a key it is asked for again from its hot copy, until the owner invalidates it", async () => {
    const key = findKey("hot", (k) => pView.owner("default", k) === qName && qView.owner("default", k) === qName);
    await fleet.seed(key, "hot v1");
    const first = await get(p.client, key);
    expect([first.first.route, first.first.cacheStatus]).toEqual([ReadRoute.FORWARDED, cacheV1.CacheStatus.MISS]);
    const ownerReads = await reads(q, "owned");
    for (let i = 0; i < 5; i++) {
      const again = await get(p.client, key);
      expect([again.first.route, again.first.cacheStatus, again.body.toString()]).toEqual([
        ReadRoute.HOT,
        cacheV1.CacheStatus.HIT,
        "hot v1",
      ]);
    }
    expect(await reads(q, "owned"), "reads that reached the owner").toBe(ownerReads);
    expect(promSample(await metricsOf(p), "cache_hot_hits_total")).toBeGreaterThanOrEqual(5);
    // A write through the owner: its invalidation stream drops P's hot copy.
    await put(q.client, key, "hot v2");
    await eventually(async () => (await get(p.client, key)).body.toString() === "hot v2", {
      timeoutMs: 10_000,
      what: "P's hot copy dropped by the owner's invalidation",
    });
    // A purge through the owner too.
    expect(await route(p.client, key)).toBe(ReadRoute.HOT);
    await q.client.invalidateCache({ bucket: "default", key });
    await eventually(async () => (await route(p.client, key)) === ReadRoute.FORWARDED, {
      timeoutMs: 10_000,
      what: "P's hot copy dropped by the owner's purge",
    });
    // A write through the non-owner drops its own hot copy before it is acknowledged.
    expect(await route(p.client, key)).toBe(ReadRoute.HOT);
    await put(p.client, key, "hot v3");
    expect((await get(p.client, key)).body.toString()).toBe("hot v3");
  });

  it("ranged, conditional and HEAD reads through a non-owner with hot copies on", async () => {
    const key = findKey(
      "hot-ranged",
      (k) => pView.owner("default", k) === qName && qView.owner("default", k) === qName,
    );
    await fleet.seed(key, "0123456789");
    const ranged = await readObject(p.client, { bucket: "default", key, range: { suffixLength: 3n } });
    expect([ranged.body.toString(), ranged.first.contentRange?.start]).toEqual(["789", 7n]);
    const head = await p.client.headObject({ bucket: "default", key });
    expect([head.info?.size, head.info?.etag]).toEqual([10n, ranged.first.info?.etag]);
    const whole = await get(p.client, key);
    expect(whole.body.toString()).toBe("0123456789");
    const same = await readObject(p.client, { bucket: "default", key, ifNoneMatch: whole.first.info!.etag });
    expect([same.first.notModified, same.first.route]).toEqual([true, ReadRoute.HOT]);
  });

  it("a forwarded call is never forwarded again, even between replicas that disagree on the owner", async () => {
    // P thinks Q owns it; Q thinks "localhost:<P's port>" does: without the mark they would bounce it for ever.
    const key = findKey("loop", (k) => pView.owner("default", k) === qName && qView.owner("default", k) !== qName);
    await fleet.seed(key, "no loop");
    const [pForwarded, qForwarded, qOwned] = [
      await reads(p, "forwarded"),
      await reads(q, "forwarded"),
      await reads(q, "owned"),
    ];
    const answer = await readObject(p.client, { bucket: "default", key }, { timeoutMs: 5_000 });
    expect(answer.body.toString()).toBe("no loop");
    expect(answer.first.route).toBe(ReadRoute.FORWARDED);
    expect(await reads(p, "forwarded")).toBe(pForwarded + 1);
    expect(await reads(q, "forwarded"), "Q forwarded a forwarded call").toBe(qForwarded);
    expect(await reads(q, "owned")).toBe(qOwned + 1);
  }, 20_000);

  it("a write through a non-owner drops the owner's copy before it is acknowledged (no stream needed)", async () => {
    // W thinks P owns the key, and so does P; P does not follow W's invalidations, so only W's call can tell it.
    const wView = createOwnerOrder([grpcTarget(w.url), pName]);
    const key = findKey("ryw", (k) => wView.owner("default", k) === pName && pView.owner("default", k) === pName);
    await fleet.seed(key, "old");
    expect((await get(p.client, key)).body.toString()).toBe("old");
    expect((await get(w.client, key)).first.route).toBe(ReadRoute.FORWARDED);
    await put(w.client, key, "new");
    expect((await get(p.client, key)).body.toString()).toBe("new");
    await w.client.deleteObject({ bucket: "default", key });
    await expect(get(p.client, key)).rejects.toMatchObject({ code: 5 }); // NOT_FOUND
  });
});
