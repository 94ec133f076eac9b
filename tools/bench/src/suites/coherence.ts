import { fileURLToPath } from "node:url";
import { cacheV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { eventually, freePort, promSample, scrapeSample, type ServiceProcess } from "@breakwater/testkit";
import { startChildServer, type ChildServer } from "../child-server.js";
import { ServiceProcesses } from "../service-processes.js";
import { formatLatencyReport, type LatencyScenario, type LatencyTarget } from "../latency-report.js";
import type { Suite } from "../suite.js";

type CacheClient = GrpcClient<typeof cacheV1.CacheService>;

/** s3rver's fixed credentials; s3-server-main.js serves with them. */
const s3Keys = { S3_ACCESS_KEY: "S3RVER", S3_SECRET_KEY: "S3RVER" };
/** gRPC NOT_FOUND. */
const notFound = 5;
/** A write that has not shown on the other side after this long is a breakage, not a figure. */
const giveUpMs = 5_000;
/** Issue 10: the figures apps/gateway's near-cache test and apps/cache-store's peer test used to assert. */
const under100: readonly LatencyTarget[] = [
  { stat: "p99", op: "<", limit: 100 },
  { stat: "max", op: "<", limit: 100 },
];

/** Options of {@link createCoherenceSuite}; the defaults are what `npm run bench -- coherence` runs. */
export interface CoherenceOptions {
  /** Writes through gateway A, each timed until gateway B serves it (default 1 000). */
  readonly nearCacheWrites?: number;
  /** Writes through replica A, each timed until replicas B and C serve it (default 500). */
  readonly peerWrites?: number;
  /** Every this many peer writes, a delete and a rewrite are timed too (default 10). */
  readonly deleteEvery?: number;
  /** Receives the table (default: written to stdout). */
  readonly printTable?: (table: string) => void;
}

/** Near-cache coherence: s3rver → one cache-store → gateways A and B, writes through A read on B. */
async function nearCache(
  s3: ChildServer,
  writes: number,
  procs: ServiceProcesses,
  log: (line: string) => void,
): Promise<LatencyScenario> {
  const store = await procs.start(
    "cache-store",
    { ...s3Keys, S3_ENDPOINT: `http://127.0.0.1:${s3.port}`, CACHE_STORE_HOST: "127.0.0.1", SHUTDOWN_GRACE_MS: "500" },
    log,
    "cache-store",
  );
  // The near-cache test's settings: a long TTL, so that only the invalidation stream can explain coherence.
  const gatewayEnv = {
    CACHE_STORE_URLS: `http://${store.grpcAddress}`,
    GATEWAY_HOST: "127.0.0.1",
    GATEWAY_CACHE_TTL: "60s",
    GATEWAY_INVALIDATION_BACKOFF: "50ms",
    GATEWAY_INVALIDATION_MAX_BACKOFF: "300ms",
  };
  const a = await procs.start("gateway", gatewayEnv, log, "gateway A");
  const b = await procs.start("gateway", gatewayEnv, log, "gateway B");
  for (const g of [a, b]) {
    await eventually(async () => (await scrapeSample(g.httpUrl, "gateway_near_cache_enabled")) === 1, {
      timeoutMs: 10_000,
      what: `near-cache of ${g.httpUrl} on`,
    });
  }
  const url = (g: ServiceProcess): string => `${g.httpUrl}/objects/default/coherence/near-cache.txt`;
  const read = async (g: ServiceProcess): Promise<{ body: string; cacheStatus: string }> => {
    const res = await fetch(url(g));
    return { body: await res.text(), cacheStatus: res.headers.get("cache-status") ?? "" };
  };
  const write = async (body: string): Promise<void> => {
    const res = await fetch(url(a), { method: "PUT", body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`PUT through A answered ${res.status}`);
  };
  await write("v0");
  // B holds a copy: the first read after a write may not be kept (see the near-cache test's warm()).
  await eventually(async () => /breakwater-gateway; hit$/.test((await read(b)).cacheStatus), {
    timeoutMs: 2_000,
    what: "near-cache copy on B",
  });
  const putMs: number[] = [];
  const ownReadMs: number[] = [];
  const invalidatedMs: number[] = [];
  const servedMs: number[] = [];
  let staleReads = 0;
  let bHits = 0;
  const hitsBefore = (await scrapeSample(b.httpUrl, "gateway_near_cache_hits_total")) ?? 0;
  for (let i = 1; i <= writes; i++) {
    const body = `v${i}`;
    const sentPut = performance.now();
    await write(body);
    const acknowledged = performance.now();
    putMs.push(acknowledged - sentPut);
    // Until B stops answering from its old copy (the read that saw the new body was sent after that),
    // and until B has answered with the new body (that plus one read from the cache-store).
    for (;;) {
      const sent = performance.now();
      const seen = await read(b);
      if (seen.body === body) {
        invalidatedMs.push(sent - acknowledged);
        servedMs.push(performance.now() - acknowledged);
        break;
      }
      if (seen.body !== `v${i - 1}`) {
        throw new Error(`write ${i}: B answered ${JSON.stringify(seen.body)}, neither the previous nor the new body`);
      }
      staleReads++;
      if (performance.now() - acknowledged > giveUpMs) {
        throw new Error(`write ${i} did not reach B within ${giveUpMs} ms`);
      }
    }
    // Read-your-writes through A: its own write dropped its copy, so this read goes to the cache-store,
    // as B's first read of the new body does: the floor under "B serves the new body".
    const sentOwn = performance.now();
    const own = await read(a);
    ownReadMs.push(performance.now() - sentOwn);
    if (own.body !== body) throw new Error(`write ${i}: A answered ${JSON.stringify(own.body)} after its own write`);
    // B keeps the new body, so that the next write has a copy to invalidate.
    if (/gateway; hit$/.test((await read(b)).cacheStatus)) bHits++;
    if (i % 250 === 0) log(`  near-cache: ${i}/${writes} writes`);
  }
  const hitsOnB = ((await scrapeSample(b.httpUrl, "gateway_near_cache_hits_total")) ?? 0) - hitsBefore;
  log(
    `  near-cache: B answered the previous body ${staleReads} times (0: B had dropped its copy by the first read ` +
      `after each acknowledgement); B's near-cache hits ${hitsOnB}; refill a hit ${bHits} of ${writes} times`,
  );
  await procs.stopAll();
  const floor = "A: read after its own write (floor)";
  return {
    name: `near-cache, ${writes} writes through gateway A, read on B`,
    measures: [
      { name: "A: PUT acknowledged", unit: "ms", values: putMs },
      { name: floor, unit: "ms", values: ownReadMs },
      { name: "write → B's copy invalidated", unit: "ms", values: invalidatedMs, targets: under100, baseline: floor },
      { name: "write → B serves the new body", unit: "ms", values: servedMs, targets: under100, baseline: floor },
    ],
  };
}

/**
 * Reads `key` on `client` (its body, or "404") until `accept` holds; answers
 * when the accepted read was answered and how many reads it took. Throws on
 * a body that is not `allowed` meanwhile.
 */
async function readUntil(
  client: CacheClient,
  key: string,
  accept: (body: string) => boolean,
  allowed: (body: string) => boolean,
): Promise<{ at: number; reads: number }> {
  const started = performance.now();
  for (let reads = 1; ; reads++) {
    let body: string;
    try {
      const chunks: Uint8Array[] = [];
      for await (const m of client.getObject({ bucket: "default", key })) chunks.push(m.chunk);
      body = Buffer.concat(chunks).toString();
    } catch (err) {
      if ((err as { code?: number }).code !== notFound) throw err;
      body = "404";
    }
    const at = performance.now();
    if (accept(body)) return { at, reads };
    if (!allowed(body)) {
      throw new Error(`${key}: answered ${JSON.stringify(body)}, neither the previous nor the new state`);
    }
    if (at - started > giveUpMs) throw new Error(`${key}: still ${JSON.stringify(body)} after ${giveUpMs} ms`);
  }
}

async function putThrough(client: CacheClient, key: string, body: string): Promise<void> {
  async function* messages() {
    yield { part: { case: "header" as const, value: { bucket: "default", key, contentType: "text/plain" } } };
    yield { part: { case: "chunk" as const, value: Buffer.from(body) } };
  }
  await client.putObject(messages());
}

/** Peer propagation: three cache-store replicas following each other (CACHE_STORE_PEERS), written via A. */
async function peerPropagation(
  s3: ChildServer,
  writes: number,
  deleteEvery: number,
  procs: ServiceProcesses,
  log: (line: string) => void,
): Promise<LatencyScenario> {
  const ports = await Promise.all([0, 1, 2].map(() => freePort()));
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const replicas: ServiceProcess[] = [];
  for (const [i, name] of ["A", "B", "C"].entries()) {
    replicas.push(
      await procs.start(
        "cache-store",
        {
          ...s3Keys,
          S3_ENDPOINT: `http://127.0.0.1:${s3.port}`,
          CACHE_STORE_HOST: "127.0.0.1",
          CACHE_STORE_PORT: String(ports[i]),
          CACHE_STORE_PEERS: urls.filter((_, j) => j !== i).join(","),
          SHUTDOWN_GRACE_MS: "500",
        },
        log,
        `cache-store ${name}`,
      ),
    );
  }
  const clients = replicas.map((r) =>
    createGrpcClient(cacheV1.CacheService, r.grpcAddress, { "grpc.use_local_subchannel_pool": 1 }),
  );
  try {
    const [a, b, c] = clients as [CacheClient, CacheClient, CacheClient];
    // Every replica follows both others before the first write.
    for (const [i, r] of replicas.entries()) {
      await eventually(
        async () => {
          const text = await (await fetch(`${r.httpUrl}/metrics`)).text();
          const peers = urls.filter((_, j) => j !== i);
          return peers.every((peer) => promSample(text, "cache_peer_invalidation_stream_live", { peer }) === 1);
        },
        { timeoutMs: 10_000, what: `replica ${i}'s peer streams live` },
      );
    }
    const key = "coherence/peer.txt";
    const putMs: number[] = [];
    const ownReadMs: number[] = [];
    const absentReadMs: number[] = [];
    const served: Record<"B" | "C", number[]> = { B: [], C: [] };
    const gone: number[] = [];
    const back: number[] = [];
    let staleReads = 0;
    let previous = "v0";
    await putThrough(a, key, previous);
    const others = [
      ["B", b],
      ["C", c],
    ] as const;
    await Promise.all(
      others.map(([, r]) =>
        readUntil(
          r,
          key,
          (s) => s === previous,
          () => true,
        ),
      ),
    );
    /** Changes the object through A and times until B and C both answer it. */
    const change = async (
      next: string,
      act: () => Promise<void>,
      into: (name: "B" | "C", ms: number) => void,
    ): Promise<void> => {
      const sent = performance.now();
      await act();
      const acknowledged = performance.now();
      if (next !== "404") putMs.push(acknowledged - sent);
      const was = previous;
      await Promise.all(
        others.map(async ([name, r]) => {
          const seen = await readUntil(
            r,
            key,
            (s) => s === next,
            (s) => s === was,
          );
          staleReads += seen.reads - 1;
          into(name, seen.at - acknowledged);
        }),
      );
      previous = next;
    };
    for (let i = 1; i <= writes; i++) {
      await change(
        `v${i}`,
        () => putThrough(a, key, `v${i}`),
        (name, ms) => served[name].push(ms),
      );
      const sentOwn = performance.now();
      const chunks: Uint8Array[] = [];
      for await (const m of a.getObject({ bucket: "default", key })) chunks.push(m.chunk);
      ownReadMs.push(performance.now() - sentOwn);
      if (Buffer.concat(chunks).toString() !== `v${i}`) throw new Error(`write ${i}: A does not answer its own write`);
      // B's and C's first read after an invalidation goes to storage: one S3 round trip from a replica is the floor.
      const sentAbsent = performance.now();
      await readUntil(
        a,
        `coherence/absent/${i}`,
        (s) => s === "404",
        () => false,
      );
      absentReadMs.push(performance.now() - sentAbsent);
      if (deleteEvery > 0 && i % deleteEvery === 0) {
        // B and C cache the 404 after the delete, so the rewrite has a cached 404 to invalidate.
        const remove = async (): Promise<void> => void (await a.deleteObject({ bucket: "default", key }));
        await change("404", remove, (_, ms) => gone.push(ms));
        await change(
          `back ${i}`,
          () => putThrough(a, key, `back ${i}`),
          (_, ms) => back.push(ms),
        );
      }
      if (i % 100 === 0) log(`  peers: ${i}/${writes} writes`);
    }
    log(`  peers: B or C answered the previous state ${staleReads} times (0: the first read after each ack saw it)`);
    const floor = "A: read of an absent key (S3 round trip, floor)";
    return {
      name: `peer propagation, ${writes} puts through replica A, read on B and C`,
      measures: [
        { name: "A: put acknowledged", unit: "ms", values: putMs },
        { name: "A: read after its own put (hit)", unit: "ms", values: ownReadMs },
        { name: floor, unit: "ms", values: absentReadMs },
        { name: "put → B serves the new body", unit: "ms", values: served.B, targets: under100, baseline: floor },
        { name: "put → C serves the new body", unit: "ms", values: served.C, targets: under100, baseline: floor },
        { name: "delete → B and C answer 404", unit: "ms", values: gone, targets: under100, baseline: floor },
        { name: "rewrite → B and C serve it", unit: "ms", values: back, targets: under100, baseline: floor },
      ],
    };
  } finally {
    for (const c of clients) c.close();
    await procs.stopAll();
  }
}

/**
 * Issue 10: how fast a write becomes visible elsewhere — through a second
 * gateway's near-cache, and through cache-store replicas following each
 * other — timed per write from the writer's acknowledgement (the figures
 * apps/gateway's near-cache test and apps/cache-store's peer-invalidations
 * test used to assert), next to a read on the writer itself as the floor.
 */
export function createCoherenceSuite(options: CoherenceOptions = {}): Suite {
  const nearCacheWrites = options.nearCacheWrites ?? 1_000;
  const peerWrites = options.peerWrites ?? 500;
  const deleteEvery = options.deleteEvery ?? 10;
  if (!(nearCacheWrites >= 1 && peerWrites >= 1 && deleteEvery >= 0)) {
    throw new RangeError("coherence: at least one write of each kind");
  }
  const printTable = options.printTable ?? ((table: string) => process.stdout.write(`\n${table}\n`));
  const title = "coherence — ms from a write's acknowledgement until the other gateway / the other replicas answer it";
  return {
    name: "coherence",
    title,
    async run(settings) {
      const procs = new ServiceProcesses();
      let s3: ChildServer | undefined;
      try {
        // The compiled script, whether this file runs compiled (dist) or from source in tests (src).
        const script = fileURLToPath(new URL("../../dist/s3-server-main.js", import.meta.url));
        s3 = await startChildServer({ name: "s3rver", script, args: [] });
        settings.log(`  s3rver: pid ${s3.pid}, port ${s3.port}`);
        const near = await nearCache(s3, nearCacheWrites, procs, settings.log);
        const peers = await peerPropagation(s3, peerWrites, deleteEvery, procs, settings.log);
        printTable(
          formatLatencyReport(
            `${title}\n(each write one after the other, read back in a tight loop; ms on this process's clock; ` +
              `p99 by nearest rank; node ${process.version})`,
            [near, peers],
          ),
        );
        return [];
      } finally {
        await procs.close();
        await s3?.stop();
      }
    },
  };
}

export const coherenceSuite: Suite = createCoherenceSuite();
