import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { cacheV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { createOwnerOrder } from "@breakwater/cache";
import {
  directS3Client,
  eventually,
  freePort,
  scrapeSample,
  startCountingProxy,
  startS3Server,
  startServiceProcess,
  type CountingProxy,
  type S3Server,
  type ServiceProcess,
} from "@breakwater/testkit";
import { withConcurrency } from "./__fixtures__/stack.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const OBJECT_BYTES = 64 * KiB;
/** Each replica's CACHE_MAX_BYTES; the working set is 2.5 times that. */
const REPLICA_BYTES = 8 * MiB;
const OBJECTS = (2.5 * REPLICA_BYTES) / OBJECT_BYTES; // 320 objects, 20 MiB
const REPLICAS = 3;

type CacheClient = GrpcClient<typeof cacheV1.CacheService>;

/** A body of OBJECT_BYTES (or `size`) that says which key and version it is. */
function bodyOf(key: string, version: number, size = OBJECT_BYTES): Buffer {
  return Buffer.alloc(size, `${key}@v${version}|`);
}

/** What a body says it is ("key@vN"), or what came instead. */
function versionOf(body: Buffer): string {
  return body.subarray(0, 64).toString().split("|")[0]!;
}

/**
 * Three cache-stores, each a peer of the others (CACHE_STORE_PEERS), over
 * s3rver behind the counting proxy, and gateways over all three with the
 * near-cache off (so every read is a cache-store's). A replica's gRPC port is
 * chosen before any starts: its peers and the gateways name it, and it comes
 * back on the same port after a kill.
 */
interface Fleet {
  readonly s3: S3Server;
  readonly proxy: CountingProxy;
  /** Member names, `127.0.0.1:<port>`, as every process spells them. */
  readonly names: readonly string[];
  readonly urls: readonly string[];
  readonly replicas: (ServiceProcess | undefined)[];
  readonly clients: CacheClient[];
  start(i: number): Promise<void>;
  gateway(env: Record<string, string>): Promise<ServiceProcess>;
  seed(key: string, body: Buffer): Promise<void>;
  stop(): Promise<void>;
}

async function startFleet(): Promise<Fleet> {
  const s3 = await startS3Server({ buckets: ["default"] });
  const proxy = await startCountingProxy(s3.endpoint);
  const ports = await Promise.all(Array.from({ length: REPLICAS }, () => freePort()));
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const replicas: (ServiceProcess | undefined)[] = [];
  const gateways: ServiceProcess[] = [];
  // A replica back after a kill gets its keys again within a second or two, not after the default 30 s open spell.
  const dir = mkdtempSync(join(tmpdir(), "owner-routing-"));
  const breakerConfig = join(dir, "breakers.yaml");
  writeFileSync(
    breakerConfig,
    ["defaults:", "  open_timeout: 1s", "  open_jitter: 0", "  success_threshold: 1", ""].join("\n"),
  );
  const direct = directS3Client(s3);
  const fleet: Fleet = {
    s3,
    proxy,
    names: ports.map((p) => `127.0.0.1:${p}`),
    urls,
    replicas,
    clients: urls.map((u) => createGrpcClient(cacheV1.CacheService, u)),
    async start(i) {
      replicas[i] = await startServiceProcess("cache-store", {
        env: {
          CACHE_STORE_HOST: "127.0.0.1",
          CACHE_STORE_PORT: String(ports[i]),
          CACHE_STORE_PEERS: urls.filter((_, j) => j !== i).join(","),
          S3_ENDPOINT: proxy.url,
          S3_ACCESS_KEY: s3.accessKeyId,
          S3_SECRET_KEY: s3.secretAccessKey,
          CACHE_MAX_BYTES: String(REPLICA_BYTES),
          CACHE_MAX_OBJECT_BYTES: String(REPLICA_BYTES),
          SHUTDOWN_GRACE_MS: "500",
        },
      });
    },
    async gateway(env) {
      const g = await startServiceProcess("gateway", {
        env: { CACHE_STORE_URLS: urls.join(","), GATEWAY_CACHE_MAX_BYTES: "0", BREAKER_CONFIG: breakerConfig, ...env },
      });
      gateways.push(g);
      return g;
    },
    async seed(key, body) {
      await direct.send(new PutObjectCommand({ Bucket: "default", Key: key, Body: body }));
    },
    async stop() {
      await Promise.all(gateways.map((g) => g.stop()));
      await Promise.all(replicas.map((r) => r?.stop()));
      for (const c of fleet.clients) c.close();
      direct.destroy();
      await proxy.close();
      await s3.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < REPLICAS; i++) await fleet.start(i);
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}

/** Waits until every replica follows each of its peers: a (re)subscription marks entries for revalidation. */
async function peersLive(fleet: Fleet): Promise<void> {
  await eventually(
    async () => {
      for (const [i, r] of fleet.replicas.entries()) {
        for (const [j, url] of fleet.urls.entries()) {
          if (i === j) continue;
          const live = await scrapeSample(r!.httpUrl, "cache_peer_invalidation_stream_live", {
            peer: url,
          });
          if (live !== 1) return false;
        }
      }
      return true;
    },
    { timeoutMs: 15_000, what: "every peer stream live" },
  );
}

/** Hits and misses over the replicas that are up (GetStats). */
async function fleetStats(fleet: Fleet, only?: number): Promise<{ hits: number; misses: number }> {
  let hits = 0;
  let misses = 0;
  for (const [i, c] of fleet.clients.entries()) {
    if (only !== undefined && i !== only) continue;
    const s = await c.getStats({});
    hits += Number(s.hits);
    misses += Number(s.misses);
  }
  return { hits, misses };
}

async function readDirect(client: CacheClient, key: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const m of client.getObject({ bucket: "default", key })) chunks.push(m.chunk);
  return Buffer.concat(chunks);
}

async function readVia(
  gateway: ServiceProcess,
  key: string,
): Promise<{ status: number; body: Buffer; cacheStatus: string }> {
  const res = await fetch(`${gateway.httpUrl}/objects/default/${key}`);
  return {
    status: res.status,
    body: Buffer.from(await res.arrayBuffer()),
    cacheStatus: res.headers.get("cache-status")!,
  };
}

const shuffled = <T>(items: readonly T[]): T[] => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

/**
 * The gateway sends each key's calls to its owner replica (rendezvous hashing
 * over the replicas' gRPC addresses), so the fleet's capacity adds up: three
 * replicas of 8 MiB hold a 20 MiB working set, each object once.
 */
describe("owner routing over three cache-stores", () => {
  let fleet: Fleet;
  let owner: ServiceProcess;
  let roundRobin: ServiceProcess;
  /** The working set: OBJECTS keys, an equal share owned by each replica. */
  let keys: string[];
  /** Keys by the index of the replica that owns them. */
  let owned: string[][];

  beforeAll(async () => {
    fleet = await startFleet();
    // Ports are random, so ownership is too: the keys are chosen so that each replica owns a third of
    // them, which keeps this test's outcome the same every run (the balance of the hashing itself over
    // many keys is packages/cache's owner-order test).
    const ownership = createOwnerOrder(fleet.names);
    owned = fleet.names.map(() => []);
    keys = [];
    for (let i = 0; keys.length < OBJECTS; i++) {
      const key = `fleet/obj-${i}`;
      const o = fleet.names.indexOf(ownership.owner("default", key));
      if (owned[o]!.length >= Math.ceil(OBJECTS / REPLICAS)) continue;
      owned[o]!.push(key);
      keys.push(key);
    }
    await withConcurrency(8, keys.length, (i) => fleet.seed(keys[i]!, bodyOf(keys[i]!, 0)));
    owner = await fleet.gateway({ BW_ADMIN_TOKEN: "t" });
    roundRobin = await fleet.gateway({ BW_ADMIN_TOKEN: "t", GATEWAY_ROUTING: "round-robin" });
    await peersLive(fleet);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  /**
   * Empties the fleet, reads the working set once (warm-up), then once more
   * in random order: the hit ratio of the measured pass, and the S3 GETs of
   * both per key.
   */
  async function measure(gateway: ServiceProcess): Promise<{ hitRatio: number; s3Gets: number; perKey: number[] }> {
    const purge = await fetch(`${gateway.httpUrl}/objects/default/?prefix=1`, {
      method: "PURGE",
      headers: { authorization: "Bearer t" },
    });
    expect(purge.status).toBe(200);
    fleet.proxy.reset();
    const readAll = (order: string[]): Promise<void[]> =>
      withConcurrency(4, order.length, async (i) => {
        const { status, body } = await readVia(gateway, order[i]!);
        expect(status).toBe(200);
        expect(body.equals(bodyOf(order[i]!, 0))).toBe(true);
      });
    await readAll(keys);
    const before = await fleetStats(fleet);
    await readAll(shuffled(keys));
    const after = await fleetStats(fleet);
    const hits = after.hits - before.hits;
    const reads = hits + after.misses - before.misses;
    return {
      hitRatio: hits / reads,
      s3Gets: fleet.proxy.count("GET"),
      perKey: keys.map((k) => fleet.proxy.count("GET", `/default/${k}`)),
    };
  }

  // Round robin through the gateway stays a correct entry point: the replicas forward to the owner.
  it("a working set 2.5× one replica's bytes: hit ratio ≥ 0.9, each object fetched from S3 once", async () => {
    const byOwner = await measure(owner);
    const byRoundRobin = await measure(roundRobin);
    console.info(
      `fleet of ${REPLICAS} × ${REPLICA_BYTES / MiB} MiB, ${OBJECTS} objects of ${OBJECT_BYTES / KiB} KiB, ` +
        `warm-up + 1 pass: owner routing hit ratio ${byOwner.hitRatio.toFixed(3)}, S3 GETs ${byOwner.s3Gets}; ` +
        `round robin hit ratio ${byRoundRobin.hitRatio.toFixed(3)}, S3 GETs ${byRoundRobin.s3Gets}`,
    );
    expect(byOwner.hitRatio).toBeGreaterThanOrEqual(0.9);
    expect(byOwner.perKey.filter((n) => n !== 1)).toEqual([]);
    expect(byOwner.s3Gets).toBe(OBJECTS);
    // Through any replica: its owner serves it (forwarded), so the fleet still fetches each object once.
    expect(byRoundRobin.hitRatio).toBeGreaterThanOrEqual(0.9);
    expect(byRoundRobin.perKey.filter((n) => n !== 1)).toEqual([]);
    const calls = async (route: string): Promise<number> =>
      (await scrapeSample(owner.httpUrl, "gateway_upstream_requests_total", { route })) ?? 0;
    expect(await calls("owner")).toBeGreaterThanOrEqual(2 * OBJECTS);
    expect(await calls("fallback")).toBe(0);
  }, 180_000);

  it("a write through the gateway, then reads through every replica and the gateway: never the old body", async () => {
    const written = [owned[0]![0]!, owned[1]![0]!, owned[2]![0]!];
    for (let version = 1; version <= 10; version++) {
      for (const key of written) {
        // Every replica holds the previous body first.
        for (const c of fleet.clients) expect(versionOf(await readDirect(c, key))).toBe(`${key}@v${version - 1}`);
        const put = await fetch(`${owner.httpUrl}/objects/default/${key}`, {
          method: "PUT",
          body: bodyOf(key, version),
        });
        expect(put.status).toBe(200);
        for (const c of fleet.clients) expect(versionOf(await readDirect(c, key))).toBe(`${key}@v${version}`);
        for (const g of [owner, roundRobin]) expect(versionOf((await readVia(g, key)).body)).toBe(`${key}@v${version}`);
      }
    }
  });

  it("an owner SIGKILLed mid-load: fallbacks serve its keys, writes go on, it takes them back", async () => {
    const dead = 1;
    const deadKeys = owned[dead]!.slice(10, 34);
    const otherKeys = [...owned[0]!.slice(10, 22), ...owned[2]!.slice(10, 22)];
    /** Written while the owner is down; not read meanwhile. */
    const movedKeys = owned[dead]!.slice(40, 46);
    const readKeys = [...deadKeys, ...otherKeys];
    const calls = async (route: string): Promise<number> =>
      (await scrapeSample(owner.httpUrl, "gateway_upstream_requests_total", { route })) ?? 0;

    let killedAt = Infinity;
    let stop = false;
    let total = 0;
    let afterKill = 0;
    const failures: { startedAt: number; what: string }[] = [];
    /** Cache-Status of the dead owner's keys read after the kill. */
    const fallbackStatuses = new Set<string>();
    async function reader(r: number): Promise<void> {
      for (let i = r; !stop; i += 4) {
        const key = readKeys[i % readKeys.length]!;
        const startedAt = performance.now();
        try {
          const { status, body, cacheStatus } = await readVia(owner, key);
          if (status !== 200 || versionOf(body) !== `${key}@v0`)
            failures.push({ startedAt, what: `${key}: ${status} ${versionOf(body)}` });
          if (startedAt > killedAt && deadKeys.includes(key)) fallbackStatuses.add(cacheStatus);
        } catch (err) {
          failures.push({ startedAt, what: `${key}: ${String(err)}` });
        }
        total++;
        if (startedAt > killedAt) afterKill++;
      }
    }
    const readers = Array.from({ length: 4 }, (_, r) => reader(r));
    await eventually(() => total >= 100, { timeoutMs: 20_000, what: "reads before the kill" });
    expect(failures).toEqual([]);
    const fallbackBefore = await calls("fallback");
    expect(await fleet.replicas[dead]!.stop("SIGKILL")).toBe("SIGKILL");
    killedAt = performance.now();

    // Writes while the owner is down: it refuses the connection before any byte, so the next replica takes them.
    for (const key of movedKeys) {
      const put = await fetch(`${owner.httpUrl}/objects/default/${key}`, { method: "PUT", body: bodyOf(key, 1) });
      expect(put.status).toBe(200);
    }
    await eventually(() => afterKill >= 200, { timeoutMs: 30_000, what: "reads after the kill" });
    stop = true;
    await Promise.all(readers);
    expect(failures.filter((f) => f.startedAt > killedAt)).toEqual([]);
    expect(await calls("fallback")).toBeGreaterThan(fallbackBefore);
    // The replica that served them says it read through its own storage because the owner was down.
    expect([...fallbackStatuses].filter((s) => !s.endsWith("detail=owner-fallback"))).toEqual([]);
    expect(fallbackStatuses.size).toBeGreaterThan(0);

    // It comes back on its port, empty: once the gateway calls it again, its keys are its own again.
    await fleet.start(dead);
    await peersLive(fleet);
    let served = 0;
    const returned = eventually(
      async () => {
        const before = await fleetStats(fleet, dead);
        for (const key of deadKeys) expect(versionOf((await readVia(owner, key)).body)).toBe(`${key}@v0`);
        const after = await fleetStats(fleet, dead);
        served = after.hits + after.misses - (before.hits + before.misses);
        return served === deadKeys.length;
      },
      { timeoutMs: 20_000, what: "every read of the returned owner's keys served by it" },
    );
    await returned.catch(() => expect(served, "reads served by the returned owner").toBe(deadKeys.length));
    // The keys written while it was down: the new body from it, from every replica, and through the gateway.
    for (const key of movedKeys) {
      expect(versionOf((await readVia(owner, key)).body)).toBe(`${key}@v1`);
      for (const c of fleet.clients) expect(versionOf(await readDirect(c, key))).toBe(`${key}@v1`);
    }
  }, 120_000);

  it("a PUT or DELETE whose owner refuses connections goes to the next replica (nothing sent to it)", async () => {
    const down = 0;
    const [putKey, deleteKey] = [owned[down]![70]!, owned[down]![71]!];
    const calls = async (route: string): Promise<number> =>
      (await scrapeSample(owner.httpUrl, "gateway_upstream_requests_total", { route })) ?? 0;
    expect(await fleet.replicas[down]!.stop("SIGKILL")).toBe("SIGKILL");
    // Two calls, each refused once by the owner: too few to open its breaker, so each is tried there first.
    const fallbacks = await calls("fallback");
    const put = await fetch(`${owner.httpUrl}/objects/default/${putKey}`, { method: "PUT", body: bodyOf(putKey, 2) });
    expect(put.status).toBe(200);
    expect((await fetch(`${owner.httpUrl}/objects/default/${deleteKey}`, { method: "DELETE" })).status).toBe(204);
    expect(await calls("fallback")).toBe(fallbacks + 2);
    await fleet.start(down);
    await peersLive(fleet);
    expect(versionOf((await readVia(owner, putKey)).body)).toBe(`${putKey}@v2`);
    expect((await readVia(owner, deleteKey)).status).toBe(404);
  }, 60_000);

  it("a PUT whose body is flowing when its owner dies is not retried on another replica", async () => {
    const victim = 2;
    const key = owned[victim]![60]!;
    // Larger than a multipart part (8 MiB): the owner starts the upload to S3 once it has read that much.
    const size = 10 * MiB;
    const uploadsBefore = fleet.proxy.requests.filter((r) => r.method === "POST").length;
    const answer = new Promise<number>((resolve) => {
      const req = request(
        { host: "127.0.0.1", port: owner.httpPort, method: "PUT", path: `/objects/default/${key}` },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", () => resolve(0));
      // Chunked, no Content-Length: nothing but the gateway keeps a truncated body from being stored.
      req.write(bodyOf(key, 7, size - 64 * KiB));
      void (async () => {
        // The owner has read the body this far: it has begun the multipart upload.
        await eventually(() => fleet.proxy.requests.filter((r) => r.method === "POST").length > uploadsBefore, {
          timeoutMs: 20_000,
          what: "the owner's multipart upload begun",
        });
        await fleet.replicas[victim]!.stop("SIGKILL");
        req.end(Buffer.alloc(64 * KiB, "z"));
      })();
    });
    expect(await answer).not.toBe(200);
    expect(versionOf((await readVia(owner, key)).body)).toBe(`${key}@v0`);
    await fleet.start(victim);
  }, 60_000);
});
