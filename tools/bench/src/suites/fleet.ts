import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { cacheV1 } from "@breakwater/proto";
import { createGrpcClient } from "@breakwater/server-kit";
import {
  eventually,
  freePort,
  scrapeSample,
  startCountingProxy,
  type CountingProxy,
  type ServiceProcess,
} from "@breakwater/testkit";
import { startChildServer, type ChildServer } from "../child-server.js";
import { ServiceProcesses } from "../service-processes.js";
import type { Suite } from "../suite.js";
import { table } from "../text-table.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** s3rver's fixed credentials; s3-server-main.js serves with them. */
const s3Keys = { S3_ACCESS_KEY: "S3RVER", S3_SECRET_KEY: "S3RVER" };
/** Each scenario's processes stop at once: nothing is in flight by then. */
const quickStop = { SHUTDOWN_GRACE_MS: "500", SHUTDOWN_DRAIN_DELAY_MS: "0" };

/** Options of {@link createFleetSuite} (the smoke test makes it small). */
export interface FleetOptions {
  /** Each replica's CACHE_MAX_BYTES (default 8 MiB); the working set is 2.5 times that. */
  readonly replicaBytes?: number;
  /** Size of each object (default 64 KiB). */
  readonly objectBytes?: number;
  /** Passes over the working set measured after the warm-up pass, each in a new random order (default 2). */
  readonly passes?: number;
  /** Where the table goes (default stdout). */
  readonly printTable?: (table: string) => void;
}

/** One fleet's figures over the same working set. */
export interface FleetScenario {
  readonly name: string;
  /** Cache-store hits ÷ reads in the measured passes (GetStats of every replica). */
  readonly hitRatio: number;
  /** GETs that reached S3 (counting proxy), warm-up pass included. */
  readonly s3Gets: number;
  readonly objects: number;
  /** Reads per second through the gateway in the measured passes. */
  readonly readsPerSecond: number;
}

/** A target on one scenario: its hit ratio at least, or its S3 GETs per object at most. */
export interface FleetTarget {
  readonly scenario: string;
  readonly measure: "hit ratio" | "S3 GETs per object";
  readonly limit: number;
}

/** Whether `s` meets `t`. */
export function meetsFleetTarget(s: FleetScenario, t: FleetTarget): boolean {
  return t.measure === "hit ratio" ? s.hitRatio >= t.limit : s.s3Gets / s.objects <= t.limit;
}

/** The table: one row per scenario, then one verdict line per target ("met" or "MISSED" first, as main.ts reads). */
export function formatFleetReport(
  title: string,
  scenarios: readonly FleetScenario[],
  targets: readonly FleetTarget[],
): string {
  const header = ["scenario", "hit ratio", "S3 GETs", "GETs/object", "reads/s"];
  const rows = scenarios.map((s) => [
    s.name,
    s.hitRatio.toFixed(3),
    String(s.s3Gets),
    (s.s3Gets / s.objects).toFixed(2),
    s.readsPerSecond.toFixed(0),
  ]);
  const verdicts = targets.map((t) => {
    const s = scenarios.find((x) => x.name === t.scenario);
    if (s === undefined) return `MISSED  ${t.scenario}: not measured`;
    const figure = t.measure === "hit ratio" ? s.hitRatio.toFixed(3) : (s.s3Gets / s.objects).toFixed(2);
    const op = t.measure === "hit ratio" ? "≥" : "≤";
    const verdict = meetsFleetTarget(s, t) ? "met   " : "MISSED";
    return `${verdict}  ${t.scenario}: ${t.measure} ${figure} (target ${op} ${t.limit})`;
  });
  return [title, "", ...table(header, rows, (col) => col > 0), "", ...verdicts].join("\n");
}

/** A body of `size` bytes that names its key. */
const bodyOf = (key: string, size: number): Buffer => Buffer.alloc(size, `${key}|`);

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Runs `task` over `count` items with `limit` in flight. */
async function pool(limit: number, count: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/**
 * `npm run bench -- fleet`: the capacity of a cache fleet. One working set,
 * 2.5 times one replica's CACHE_MAX_BYTES, read through a gateway (near-cache
 * off, so the cache-stores are measured) by a warm-up pass and then `passes`
 * passes in random order, by one replica, by three with the gateway routing
 * each key to its owner, and by three with round robin. Hit ratio from the
 * replicas' GetStats, S3 GETs from testkit's counting proxy in front of s3rver.
 */
export function createFleetSuite(options: FleetOptions = {}): Suite {
  const replicaBytes = options.replicaBytes ?? 8 * MiB;
  const objectBytes = options.objectBytes ?? 64 * KiB;
  const passes = options.passes ?? 2;
  const objects = Math.floor((2.5 * replicaBytes) / objectBytes);
  if (!(objects >= 3 && passes >= 1)) throw new RangeError("fleet: at least 3 objects and 1 measured pass");
  const printTable = options.printTable ?? ((table: string) => process.stdout.write(`\n${table}\n`));
  const keys = Array.from({ length: objects }, (_, i) => `fleet/obj-${i}`);
  const title = "fleet — hit ratio and S3 GETs of 1 vs 3 cache-store replicas: owner routing, round robin, no owners";
  return {
    name: "fleet",
    title,
    async run(settings) {
      const procs = new ServiceProcesses();
      let s3: ChildServer | undefined;
      let proxy: CountingProxy | undefined;
      try {
        const script = fileURLToPath(new URL("../../dist/s3-server-main.js", import.meta.url));
        s3 = await startChildServer({ name: "s3rver", script, args: [] });
        settings.log(`  s3rver: pid ${s3.pid}, port ${s3.port}`);
        const s3Endpoint = `http://127.0.0.1:${s3.port}`;
        proxy = await startCountingProxy(s3Endpoint);
        await seed(s3Endpoint, procs, settings.log);
        const scenarios: FleetScenario[] = [];
        // Round robin with forwarding: two reads in three take the hop to the owner (its cost, beside
        // owner routing); without forwarding: the fleet as it was before keys had owners.
        for (const [replicas, routing, forwarding, name] of [
          [1, "owner", true, "1 replica"],
          [3, "owner", true, "3 replicas, owner routing"],
          [3, "round-robin", true, "3 replicas, round robin, forwarding"],
          [3, "round-robin", false, "3 replicas, round robin, no owners"],
        ] as const) {
          settings.log(`  ${name}:`);
          scenarios.push(await measure(name, replicas, routing, forwarding, proxy, procs, settings.log));
          await procs.stopAll();
        }
        printTable(
          formatFleetReport(
            `${title}\n(${objects} objects of ${objectBytes / KiB} KiB = ` +
              `${((objects * objectBytes) / MiB).toFixed(1)} MiB; ` +
              `CACHE_MAX_BYTES ${replicaBytes / MiB} MiB per replica; ` +
              `a warm-up pass, then ${passes} in random order, ` +
              `8 reads in flight through one gateway, near-cache off; node ${process.version})`,
            scenarios,
            [
              { scenario: "3 replicas, owner routing", measure: "hit ratio", limit: 0.9 },
              { scenario: "3 replicas, owner routing", measure: "S3 GETs per object", limit: 1 },
            ],
          ),
        );
        return [];
      } finally {
        await procs.close();
        await proxy?.close();
        await s3?.stop();
      }
    },
  };

  /** Stores the working set through a cache-store of its own, straight to s3rver (nothing counted). */
  async function seed(s3Endpoint: string, procs: ServiceProcesses, log: (line: string) => void): Promise<void> {
    const seeder = await procs.start(
      "cache-store",
      {
        ...s3Keys,
        S3_ENDPOINT: s3Endpoint,
        CACHE_STORE_HOST: "127.0.0.1",
        CACHE_MAX_BYTES: "1MiB",
        CACHE_MAX_OBJECT_BYTES: "1MiB",
      },
      log,
      "seeding cache-store",
    );
    const client = createGrpcClient(cacheV1.CacheService, seeder.grpcAddress);
    try {
      await pool(8, keys.length, async (i) => {
        const key = keys[i]!;
        const header = create(cacheV1.PutObjectHeaderSchema, { bucket: "default", key });
        await client.putObject(
          (async function* () {
            yield create(cacheV1.PutObjectRequestSchema, { part: { case: "header", value: header } });
            yield create(cacheV1.PutObjectRequestSchema, { part: { case: "chunk", value: bodyOf(key, objectBytes) } });
          })(),
        );
      });
    } finally {
      client.close();
      await procs.stopAll();
    }
  }

  async function measure(
    name: string,
    replicas: number,
    routing: "owner" | "round-robin",
    forwarding: boolean,
    proxy: CountingProxy,
    procs: ServiceProcesses,
    log: (line: string) => void,
  ): Promise<FleetScenario> {
    const ports = await Promise.all(Array.from({ length: replicas }, () => freePort()));
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    // Started together: each knows its peers' ports already.
    const stores: ServiceProcess[] = await Promise.all(
      ports.map((port, i) =>
        procs.start(
          "cache-store",
          {
            ...s3Keys,
            S3_ENDPOINT: proxy.url,
            CACHE_STORE_HOST: "127.0.0.1",
            CACHE_STORE_PORT: String(port),
            CACHE_STORE_PEERS: urls.filter((_, j) => j !== i).join(","),
            CACHE_MAX_BYTES: String(replicaBytes),
            CACHE_STORE_FORWARDING: String(forwarding),
            CACHE_MAX_OBJECT_BYTES: String(Math.min(replicaBytes, 8 * MiB)),
            ...quickStop,
          },
          log,
          `cache-store ${i}`,
        ),
      ),
    );
    // Every peer stream live first: a (re)subscription marks a replica's entries for revalidation.
    await eventually(
      async () => {
        for (const [i, s] of stores.entries())
          for (const [j, url] of urls.entries())
            if (i !== j && (await scrapeSample(s.httpUrl, "cache_peer_invalidation_stream_live", { peer: url })) !== 1)
              return false;
        return true;
      },
      { timeoutMs: 15_000, what: "every peer stream live" },
    );
    const gateway = await procs.start(
      "gateway",
      { ...quickStop, CACHE_STORE_URLS: urls.join(","), GATEWAY_CACHE_MAX_BYTES: "0", GATEWAY_ROUTING: routing },
      log,
      "gateway",
    );
    const clients = stores.map((s) => createGrpcClient(cacheV1.CacheService, s.grpcAddress));
    try {
      const stats = async (): Promise<{ hits: number; reads: number }> => {
        let hits = 0;
        let reads = 0;
        for (const c of clients) {
          const s = await c.getStats({});
          hits += Number(s.hits);
          reads += Number(s.hits) + Number(s.misses);
        }
        return { hits, reads };
      };
      const readAll = (order: readonly string[]): Promise<void> =>
        pool(8, order.length, async (i) => {
          const res = await fetch(`${gateway.httpUrl}/objects/default/${order[i]!}`);
          const body = Buffer.from(await res.arrayBuffer());
          if (res.status !== 200 || body.byteLength !== objectBytes)
            throw new Error(`${name}: GET ${order[i]} answered ${res.status} with ${body.byteLength} bytes`);
        });
      proxy.reset();
      await readAll(keys);
      const before = await stats();
      const started = performance.now();
      for (let p = 0; p < passes; p++) await readAll(shuffled(keys));
      const seconds = (performance.now() - started) / 1000;
      const after = await stats();
      return {
        name,
        hitRatio: (after.hits - before.hits) / (after.reads - before.reads),
        s3Gets: proxy.count("GET"),
        objects,
        readsPerSecond: (passes * objects) / seconds,
      };
    } finally {
      for (const c of clients) c.close();
    }
  }
}

export const fleetSuite: Suite = createFleetSuite();
