import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { cacheV1 } from "@breakwater/proto";
import { createOwnerOrder } from "@breakwater/cache";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import {
  directS3Client,
  eventually,
  scrapeSample,
  startCountingProxy,
  startS3Server,
  startServiceProcess,
  type CountingProxy,
  type S3Server,
  type ServiceProcess,
} from "@breakwater/testkit";
import { withConcurrency } from "./__fixtures__/stack.js";

const KEYS = 240;
type CacheClient = GrpcClient<typeof cacheV1.CacheService>;

const bodyOf = (key: string): Buffer => Buffer.alloc(4096, `${key}|`);

/**
 * CACHE_STORE_MEMBERSHIP=coordinator: the cache-stores and the gateway learn
 * the fleet's members from the coordinator's live list, so a replica started
 * later takes its share of the keys (rendezvous hashing moves ≈ 1/N of them,
 * to it alone) and one that stops gives them back, with no restart of the
 * others. The gateway is given one replica's URL and learns the rest.
 */
describe("membership from the coordinator: replicas join and leave at run time", () => {
  let dir: string;
  let s3: S3Server;
  let proxy: CountingProxy;
  let coordinator: ServiceProcess;
  let gateway: ServiceProcess;
  const replicas: ServiceProcess[] = [];
  const clients: CacheClient[] = [];
  const keys = Array.from({ length: KEYS }, (_, i) => `members/k${i}`);

  const startReplica = async (): Promise<void> => {
    const r = await startServiceProcess("cache-store", {
      env: {
        CACHE_STORE_HOST: "127.0.0.1",
        CACHE_STORE_MEMBERSHIP: "coordinator",
        COORDINATOR_URL: `http://${coordinator.grpcAddress}`,
        S3_ENDPOINT: proxy.url,
        S3_ACCESS_KEY: s3.accessKeyId,
        S3_SECRET_KEY: s3.secretAccessKey,
        SHUTDOWN_GRACE_MS: "500",
      },
    });
    replicas.push(r);
    clients.push(createGrpcClient(cacheV1.CacheService, r.grpcAddress));
  };
  const names = (): string[] => replicas.map((r) => r.grpcAddress);

  /** Every replica and the gateway see exactly `expected` as the members. */
  async function agreeOn(expected: readonly string[]): Promise<void> {
    const want = [...expected].sort();
    await eventually(
      async () => {
        for (const c of clients.slice(0, expected.length)) {
          const members = (await c.getStats({})).membership?.members ?? [];
          if (JSON.stringify(members) !== JSON.stringify(want)) return false;
        }
        return (await scrapeSample(gateway.httpUrl, "gateway_cache_store_members")) === expected.length;
      },
      { timeoutMs: 20_000, what: `every process sees the members ${want.join(", ")}` },
    );
  }

  /** Reads every key through the gateway; answers the S3 GETs it took, by key. */
  async function readAll(): Promise<Map<string, number>> {
    proxy.reset();
    await withConcurrency(8, keys.length, async (i) => {
      const res = await fetch(`${gateway.httpUrl}/objects/default/${keys[i]}`);
      const body = Buffer.from(await res.arrayBuffer());
      expect([res.status, body.equals(bodyOf(keys[i]!))]).toEqual([200, true]);
    });
    const byKey = new Map<string, number>();
    for (const r of proxy.requests) {
      if (r.method !== "GET") continue;
      const key = decodeURIComponent(r.path.replace(/^\/default\//, ""));
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
    }
    return byKey;
  }

  const misses = async (i: number): Promise<number> => Number((await clients[i]!.getStats({})).misses);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-membership-"));
    s3 = await startS3Server({ buckets: ["default"] });
    proxy = await startCountingProxy(s3.endpoint);
    coordinator = await startServiceProcess("breaker-coordinator", {
      env: { COORDINATOR_STATE_FILE: join(dir, "state.json") },
    });
    for (let i = 0; i < 3; i++) await startReplica();
    gateway = await startServiceProcess("gateway", {
      env: {
        CACHE_STORE_URLS: `http://${replicas[0]!.grpcAddress}`,
        CACHE_STORE_MEMBERSHIP: "coordinator",
        COORDINATOR_URL: `http://${coordinator.grpcAddress}`,
        GATEWAY_CACHE_MAX_BYTES: "0",
      },
    });
    const direct = directS3Client(s3);
    await withConcurrency(8, keys.length, (i) =>
      direct.send(new PutObjectCommand({ Bucket: "default", Key: keys[i], Body: bodyOf(keys[i]!) })),
    );
    direct.destroy();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await gateway?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    await coordinator?.stop();
    await proxy?.close();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("three replicas found through the coordinator: every key fetched from S3 once", async () => {
    await agreeOn(names());
    const gets = await readAll();
    expect([gets.size, Math.max(...gets.values())]).toEqual([KEYS, 1]);
  });

  it("a fourth replica started later receives about a quarter of the keys, with no restart of the others", async () => {
    const pids = replicas.map((r) => r.pid);
    const before = createOwnerOrder(names());
    await startReplica();
    await agreeOn(names());
    const after = createOwnerOrder(names());
    const joined = replicas[3]!.grpcAddress;
    const moved = keys.filter((k) => after.owner("default", k) !== before.owner("default", "" + k));
    const toJoined = keys.filter((k) => after.owner("default", k) === joined);
    // Rendezvous hashing: the keys that move all move to the new member, about 1/4 of them.
    expect(moved).toEqual(toJoined);
    expect(toJoined.length / KEYS).toBeGreaterThan(0.15);
    expect(toJoined.length / KEYS).toBeLessThan(0.35);

    const gets = await readAll();
    // Its keys cost one S3 GET each, now at the new owner; every other key is still cached at its owner.
    expect([...gets.keys()].sort()).toEqual([...toJoined].sort());
    expect(Math.max(...gets.values())).toBe(1);
    expect(await misses(3)).toBe(toJoined.length);
    expect(replicas.slice(0, 3).map((r) => [r.pid, r.child.exitCode])).toEqual(pids.map((pid) => [pid, null]));
    console.log(
      `a fourth replica took ${toJoined.length} of ${KEYS} keys (${((100 * toJoined.length) / KEYS).toFixed(1)} %)`,
    );
  });

  it("the fourth leaves: its keys go back to their former owners, which still hold them", async () => {
    const left = replicas.pop()!;
    clients.pop()!.close();
    expect(await left.stop()).toBe(0);
    await agreeOn(names());
    const gets = await readAll();
    expect(gets.size).toBe(0); // served from the copies the three kept: no S3 GET, no error
  });
});
