/**
 * The coordinated breakers across a real fleet (issue 5, "Must show"):
 * s3rver ← counting fault proxy ← storage meter ← 3 cache-store replicas ←
 * gateway, with a breaker-coordinator, every one a real process but s3rver,
 * the meter and the proxy. Phases, in order:
 *
 * 1. S3 answers 503 under concurrent reads on every replica: the breaker
 *    `s3:<endpoint>` opens fleet-wide; from the instant a replica's breaker
 *    opened (the coordinator's push, or its own local breaker if that tripped
 *    first) it admits no S3 call: what still reaches S3 from it are calls it
 *    had admitted before, at most its reads in flight; once those are done,
 *    none until the open spell ends. Cached keys are served stale, uncached
 *    ones answer 503 + Retry-After.
 * 2. S3 heals: in half-open at most half_open_max_probes (1) request is at S3
 *    at a time fleet-wide; then every replica and the coordinator close.
 * 3. The coordinator is SIGKILLed: reads keep flowing at the same latency;
 *    replicas detach and open their local breakers when S3 fails again;
 *    the coordinator comes back on its port, every replica reattaches and
 *    follows it again (ForceBreaker OPEN, then AUTO).
 *
 * Build first (`npx nx run-many -t build`): the apps run from dist/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { breakerV1, cacheV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import {
  eventually,
  freePort,
  promSample,
  s3Unavailable,
  startCountingProxy,
  startS3Server,
  startServiceProcess,
  type CountingProxy,
  type S3Server,
  type ServiceProcess,
} from "@breakwater/testkit";

const { BreakerState, ForceMode } = breakerV1;
const { HIT, STALE } = cacheV1.CacheStatus;

// open_timeout 3 s: what phase 1 measures after the opening lies inside the open spell (no probe due yet);
// what would fall after open_until on a slow run is left out of its counts (half-open is phase 2's).
const OPEN_TIMEOUT_MS = 3_000;
/** Concurrent readers per replica while storage fails: the most calls one replica can have in flight. */
const READERS_PER_REPLICA = 4;
const YAML = [
  "defaults:",
  "  open_timeout: 3s",
  "  open_jitter: 0",
  "  probe_lease: 2s",
  "  detach_after: 1s",
  "  heartbeat_interval: 200ms",
  "  success_threshold: 2",
  "  half_open_max_probes: 1",
  "",
].join("\n");
const CACHED = ["warm/a.txt", "warm/b.txt", "warm/c.txt"];
const body = (key: string): string => `body of ${key}`;

type CacheClient = GrpcClient<typeof cacheV1.CacheService>;
type Coordinator = GrpcClient<typeof breakerV1.BreakerCoordinator>;

/**
 * One storage request: when it reached the meter and ended (wall
 * clock, as the coordinator's timestamps) and who sent it.
 */
interface StorageSpan {
  start: number;
  end: number;
  /** Index of the sending process in `StorageMeter.senders`, -1 when none of them. */
  from: number;
}

/**
 * The replicas' storage endpoint, an HTTP hop in front of the fault proxy
 * that sees every storage request: when it started and ended, from which
 * replica (the connection's owner, from /proc), with an optional latency so
 * that overlapping calls would show.
 */
interface StorageMeter {
  readonly url: string;
  latencyMs: number;
  /** Pids whose connections are told apart in `spans`. */
  senders: number[];
  readonly spans: StorageSpan[];
  /** Client connections open right now. */
  readonly openConnections: number;
  close(): Promise<void>;
}

/**
 * The pid among `pids` that owns the loopback TCP connection from `clientPort` to `serverPort`, or -1 (Linux /proc).
 */
function connectionOwner(pids: readonly number[], clientPort: number, serverPort: number): number {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, "0");
  let inode: string | undefined;
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${hex(clientPort)}`) && f[2]?.endsWith(`:${hex(serverPort)}`)) inode = f[9];
  }
  if (inode === undefined) return -1;
  return pids.findIndex((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
        } catch {
          return false; // closed meanwhile
        }
      });
    } catch {
      return false; // exited
    }
  });
}

async function startStorageMeter(target: string): Promise<StorageMeter> {
  const origin = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const senderOf = new WeakMap<Socket, number>();
  const meter = {
    url: "",
    latencyMs: 0,
    senders: [] as number[],
    spans: [] as StorageSpan[],
    get openConnections() {
      return sockets.size;
    },
    close: async () => undefined as void,
  };
  const server: Server = createServer((req, res) => {
    const span = { start: Date.now(), end: Number.NaN, from: senderOf.get(req.socket) ?? -1 };
    meter.spans.push(span);
    res.on("close", () => (span.end = Date.now()));
    const forward = (): void => {
      const up = request(
        {
          host: origin.hostname,
          port: Number(origin.port),
          method: req.method,
          path: req.url,
          headers: req.rawHeaders,
          setHost: false,
          agent,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.rawHeaders);
          upRes.pipe(res);
        },
      );
      up.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
      req.pipe(up);
    };
    if (meter.latencyMs > 0) setTimeout(forward, meter.latencyMs);
    else forward();
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    senderOf.set(s, connectionOwner(meter.senders, s.remotePort!, (server.address() as AddressInfo).port));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  meter.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  meter.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
      agent.destroy();
    });
  return meter;
}

/** The most spans open at one instant. */
function maxOverlap(spans: readonly { start: number; end: number }[]): number {
  const edges = spans.flatMap((s) => [
    { t: s.start, d: 1 },
    { t: Number.isNaN(s.end) ? Number.POSITIVE_INFINITY : s.end, d: -1 },
  ]);
  // An end and a start at the same ms: the end first (the next call followed the previous one).
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (open += e.d));
  return max;
}

/** A GetObject over gRPC: its cache status and body, or the ConnectError it failed with. */
async function read(
  client: CacheClient,
  key: string,
): Promise<{ status: cacheV1.CacheStatus; body: string } | ConnectError> {
  try {
    let status: cacheV1.CacheStatus | undefined;
    const chunks: Uint8Array[] = [];
    for await (const m of client.getObject({ bucket: "default", key }, { timeoutMs: 5_000 })) {
      status ??= m.cacheStatus;
      chunks.push(m.chunk);
    }
    return { status: status!, body: Buffer.concat(chunks).toString() };
  } catch (err) {
    return ConnectError.from(err);
  }
}

/**
 * Every storage call a replica made, by its storage_request_duration_seconds histogram (refused calls are not made).
 */
async function storageCalls(p: ServiceProcess): Promise<number> {
  const text = await (await fetch(`${p.httpUrl}/metrics`)).text();
  let n = 0;
  // The sum over every operation and outcome.
  for (const line of text.split("\n"))
    if (line.startsWith("storage_request_duration_seconds_count")) n += Number(line.split(" ").at(-1));
  return n;
}

/** When a replica's breaker `name` first logged a transition to open at or after `after` (wall clock ms). */
function openedOn(p: ServiceProcess, name: string, after: number): number | undefined {
  for (const line of p.output) {
    if (!line.includes('"breaker_transition"')) continue;
    const entry = JSON.parse(line) as { time: string; breaker: string; to: string };
    const at = Date.parse(entry.time);
    if (entry.breaker === name && entry.to === "open" && at >= after) return at;
  }
  return undefined;
}

const timestampMs = (t: { seconds: bigint; nanos: number } | undefined): number =>
  t === undefined ? Number.NaN : Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

describe("coordinated breakers across a fleet: coordinator, 3 cache-store replicas, a gateway", () => {
  let dir: string;
  let s3: S3Server;
  let meter: StorageMeter;
  let proxy: CountingProxy;
  let coordinatorPort: number;
  let coordinatorEnv: Record<string, string>;
  let coordinator: ServiceProcess;
  let ops: Coordinator;
  const replicas: ServiceProcess[] = [];
  const clients: CacheClient[] = [];
  let gateway: ServiceProcess;
  let breakerName: string;
  let cold = 0;
  /** A key never read before: its read must go to storage. */
  const coldKey = (): string => `cold/${++cold}`;

  const gw = (key: string): Promise<Response> => fetch(`${gateway.httpUrl}/objects/default/${key}`);
  const fleetState = async (): Promise<breakerV1.Breaker> => (await ops.getBreaker({ name: breakerName })).breaker!;
  /** The gateway's breaker state (0 closed, 2 open) for each replica, in the replicas' order. */
  const gatewayUpstreamStates = async (): Promise<(number | undefined)[]> => {
    const text = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
    return replicas.map((r) =>
      promSample(text, "gateway_upstream_breaker_state", { breaker: `cache-store:${r.grpcAddress}` }),
    );
  };
  const replicaBreakers = async (): Promise<cacheV1.BreakerStatus[]> =>
    Promise.all(clients.map(async (c) => (await c.getStats({})).breakers.find((b) => b.name === breakerName)!));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-fleet-"));
    writeFileSync(join(dir, "breakers.yaml"), YAML);
    s3 = await startS3Server({ buckets: ["default"] });
    proxy = await startCountingProxy(s3.endpoint);
    meter = await startStorageMeter(proxy.url);
    breakerName = `s3:${meter.url}`;
    coordinatorPort = await freePort();
    const shared = {
      BREAKER_CONFIG: join(dir, "breakers.yaml"),
      COORDINATOR_URL: `http://127.0.0.1:${coordinatorPort}`,
    };
    coordinatorEnv = {
      ...shared,
      COORDINATOR_PORT: String(coordinatorPort),
      COORDINATOR_STATE_FILE: join(dir, "state.json"),
    };
    coordinator = await startServiceProcess("breaker-coordinator", { env: coordinatorEnv });
    ops = createGrpcClient(breakerV1.BreakerCoordinator, coordinator.grpcAddress);
    for (let i = 0; i < 3; i++) {
      const p = await startServiceProcess("cache-store", {
        env: {
          ...shared,
          S3_ENDPOINT: meter.url,
          S3_ACCESS_KEY: s3.accessKeyId,
          S3_SECRET_KEY: s3.secretAccessKey,
          S3_REQUEST_TIMEOUT: "2s",
          CACHE_STORE_HOST: "127.0.0.1",
          CACHE_TTL: "300ms",
          SHUTDOWN_GRACE_MS: "500",
        },
      });
      replicas.push(p);
      clients.push(createGrpcClient(cacheV1.CacheService, p.grpcAddress));
    }
    meter.senders = replicas.map((r) => r.pid);
    gateway = await startServiceProcess("gateway", {
      env: {
        ...shared,
        CACHE_STORE_URLS: replicas.map((r) => `http://${r.grpcAddress}`).join(","),
        GATEWAY_HOST: "127.0.0.1",
        GATEWAY_CACHE_MAX_BYTES: "0",
      },
    });
    // Every replica and the gateway hold a session before anything fails.
    const live = async (): Promise<number> =>
      (await ops.listInstances({})).instances.filter((i) => i.status === breakerV1.InstanceStatus.LIVE).length;
    await eventually(async () => (await live()) === 4, { what: "4 live breaker sessions" });
  });

  afterAll(async () => {
    proxy?.setMode({ kind: "pass" });
    for (const c of clients) c.close();
    ops?.close();
    const all = [gateway, ...replicas, coordinator].filter((p) => p !== undefined);
    await Promise.all(all.map((p) => p.stop("SIGTERM")));
    // Nothing outlives the test: every process exited, every storage connection closed.
    expect(all.every((p) => p.child.exitCode !== null || p.child.signalCode !== null)).toBe(true);
    // The replicas' connections to storage (the meter), then the meter's own to the proxy once it is closed.
    await eventually(() => (meter?.openConnections ?? 0) === 0, {
      timeoutMs: 5_000,
      what: "every replica's storage connection closed",
    });
    await meter?.close();
    await eventually(() => (proxy?.openConnections ?? 0) === 0, {
      timeoutMs: 5_000,
      what: "the meter's connections closed",
    });
    await proxy?.close();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("caches a few objects on every replica", async () => {
    for (const key of CACHED) {
      const put = await fetch(`${gateway.httpUrl}/objects/default/${key}`, { method: "PUT", body: body(key) });
      expect(put.status).toBe(200);
      // Read once on each replica (the gateway would spread them round robin anyway).
      for (const c of clients) expect(await read(c, key)).toMatchObject({ body: body(key) });
    }
    expect((await fleetState()).state).toBe(BreakerState.CLOSED);
    expect((await replicaBreakers()).map((b) => [b.state, b.detached])).toEqual(Array(3).fill(["closed", false]));
  });

  const openUnderLoad =
    "S3 answers 503 under load on every replica: opens fleet-wide; a replica whose breaker opened admits no S3 call; " +
    "stale for cached keys, 503 + Retry-After for others";
  it(openUnderLoad, async () => {
    meter.spans.length = 0;
    proxy.setMode(s3Unavailable);
    const failingSince = Date.now();
    // READERS_PER_REPLICA readers on every replica, each with one read of an uncached key in flight at
    // a time, until the coordinator and every replica say open; then every read in flight is awaited.
    let tripped = false;
    const reads = [0, 0, 0];
    const readers = clients.flatMap((c, i) =>
      Array.from({ length: READERS_PER_REPLICA }, async () => {
        while (!tripped) {
          await read(c, coldKey());
          reads[i]!++;
        }
      }),
    );
    try {
      await eventually(
        async () =>
          (await fleetState()).state === BreakerState.OPEN &&
          (await replicaBreakers()).every((b) => b.state === "open"),
        { what: "the fleet and every replica open" },
      );
    } finally {
      tripped = true;
      await Promise.all(readers);
    }
    const settledAt = Date.now();
    const opened = await fleetState();
    const openedAt = timestampMs(opened.since);
    const openUntil = timestampMs(opened.openUntil);
    // When each replica's breaker opened: from then on it admits nothing (the log line is written as
    // the state is applied, whether pushed by the coordinator or its own local breaker's).
    const learnedAt = replicas.map((r) => openedOn(r, breakerName, failingSince));
    expect(
      learnedAt.every((t) => t !== undefined),
      `transition lines ${JSON.stringify(learnedAt)}`,
    ).toBe(true);
    // What reached S3 from each replica, inside the open spell (a probe may follow open_until; that is phase 2's).
    const from = (i: number, t: number): StorageSpan[] =>
      meter.spans.filter((s) => s.from === i && s.start >= t && s.start < openUntil);
    const sinceTransition = replicas.map((_, i) => from(i, openedAt).length);
    const afterLearned = replicas.map((_, i) => from(i, learnedAt[i]!).length);
    expect(
      meter.spans.every((s) => s.from >= 0),
      "every storage request told to a replica",
    ).toBe(true);
    console.info(
      `S3 503 under ${READERS_PER_REPLICA} readers per replica: ` +
        `fleet OPEN ${openedAt - failingSince} ms after the first failure ` +
        `(${reads.join("/")} reads, ${meter.spans.length} S3 requests); replicas' breakers opened ` +
        `${learnedAt.map((t) => t! - openedAt).join("/")} ms from the coordinator's transition; ` +
        `S3 requests per replica ` +
        `from the transition ${sinceTransition.join("/")}, from the replica's own opening ${afterLearned.join("/")}`,
    );
    // The coordinator's instant is not when a replica stops: until its push arrives, a replica may
    // admit more (unless its own local breaker opened first). What the design promises is that a
    // replica whose breaker is open admits nothing: what it still sends are calls admitted before,
    // no more than it had in flight.
    for (const n of afterLearned) expect(n).toBeLessThanOrEqual(READERS_PER_REPLICA);

    // Then, with nothing of ours in flight: no S3 request at all until the open spell ends.
    meter.spans.length = 0;
    proxy.reset();
    const t0 = performance.now();
    const wallT0 = Date.now();
    // Direct to each replica and through the gateway, cached and uncached keys.
    const tally = {
      staleGrpc: 0,
      freshGrpc: 0,
      unavailableGrpc: 0,
      staleGw: 0,
      freshGw: 0,
      unavailableGw: 0,
      other: [] as string[],
    };
    while (performance.now() - t0 < 1_000) {
      await Promise.all(
        clients.map(async (c, i) => {
          const cached = await read(c, CACHED[i]!);
          if (!(cached instanceof ConnectError) && cached.status === STALE && cached.body === body(CACHED[i]!))
            tally.staleGrpc++;
          // Still fresh (CACHE_TTL 300 ms from the warm-up read) is a right answer too.
          else if (!(cached instanceof ConnectError) && cached.status === HIT && cached.body === body(CACHED[i]!))
            tally.freshGrpc++;
          else tally.other.push(`replica ${i} cached: ${cached instanceof ConnectError ? cached.code : cached.status}`);
          const miss = await read(c, coldKey());
          if (
            miss instanceof ConnectError &&
            miss.code === Code.Unavailable &&
            Number(miss.metadata.get("retry-after-ms")) > 0
          )
            tally.unavailableGrpc++;
          else
            tally.other.push(
              `replica ${i} uncached: ` +
                `${miss instanceof ConnectError ? `${miss.code} ${miss.metadata.get("retry-after-ms")}` : miss.status}`,
            );
        }),
      );
      for (const key of CACHED) {
        const res = await gw(key);
        const text = await res.text();
        if (res.status === 200 && /detail=stale/.test(res.headers.get("cache-status") ?? "") && text === body(key))
          tally.staleGw++;
        else if (res.status === 200 && /; hit$/.test(res.headers.get("cache-status") ?? "") && text === body(key))
          tally.freshGw++;
        else tally.other.push(`gateway cached: ${res.status} ${res.headers.get("cache-status")} ${text.slice(0, 80)}`);
      }
      const res = await gw(coldKey());
      const retryAfter = res.headers.get("retry-after");
      const json = (await res.json().catch(() => ({}))) as { retry_after?: number };
      if (res.status === 503 && /^\d+$/.test(retryAfter ?? "") && json.retry_after === Number(retryAfter))
        tally.unavailableGw++;
      else tally.other.push(`gateway uncached: ${res.status} retry-after=${retryAfter} ${JSON.stringify(json)}`);
    }
    const inSpellMs = Math.min(Date.now(), openUntil) - wallT0;
    const perReplica = replicas.map((_, i) => from(i, settledAt).length);
    console.info(
      `then over ${(performance.now() - t0).toFixed(0)} ms of reads (${inSpellMs} ms of it inside the open spell): ` +
        `S3 requests per replica ${perReplica.join("/")}, ${proxy.requests.length} at the proxy in all; ` +
        `answers: ${JSON.stringify({ ...tally, other: tally.other.length })}`,
    );
    if (tally.other.length > 0)
      console.info(`unexpected answers (first 10): ${JSON.stringify(tally.other.slice(0, 10), null, 1)}`);
    expect(perReplica).toEqual([0, 0, 0]);
    if (Date.now() < openUntil) {
      expect((await fleetState()).state).toBe(BreakerState.OPEN);
      expect((await replicaBreakers()).map((b) => b.state)).toEqual(["open", "open", "open"]);
    }
    expect(tally.other).toEqual([]);
    expect(tally.staleGrpc).toBeGreaterThan(0);
    expect(tally.staleGw).toBeGreaterThan(0);
    expect(tally.unavailableGw).toBeGreaterThan(0);
  });

  it("S3 heals: at most one probe at S3 at a time fleet-wide in half-open, then every replica closes", async () => {
    const opened = await fleetState();
    expect(opened.state).toBe(BreakerState.OPEN);
    // Each storage call now takes 200 ms at S3's door, so two probes at once would overlap there.
    meter.spans.length = 0;
    meter.latencyMs = 200;
    proxy.setMode({ kind: "pass" });
    proxy.reset();
    const healedAt = Date.now();
    // Traffic on every replica, 3 readers each, until the coordinator and every replica say closed.
    let done = false;
    const answers: string[] = [];
    const readers = clients.flatMap((c) =>
      [0, 1, 2].map(async () => {
        while (!done) {
          const r = await read(c, coldKey());
          answers.push(r instanceof ConnectError ? Code[r.code] : cacheV1.CacheStatus[r.status]!);
          await pause(10); // pacing the load, not waiting for anything
        }
      }),
    );
    try {
      await expect
        .poll(
          async () =>
            (await fleetState()).state === BreakerState.CLOSED &&
            (await replicaBreakers()).every((b) => b.state === "closed"),
          {
            timeout: OPEN_TIMEOUT_MS + 8_000,
            interval: 50,
          },
        )
        .toBe(true);
    } finally {
      done = true;
      await Promise.all(readers);
      meter.latencyMs = 0;
    }
    const closed = await fleetState();
    const closedAt = timestampMs(closed.since);
    // Calls admitted while half-open reached S3 before the coordinator closed the breaker.
    const halfOpenSpans = meter.spans.filter((s) => s.start < closedAt);
    const overlap = maxOverlap(halfOpenSpans);
    console.info(
      `healed: half-open at ${timestampMs(opened.openUntil) - healedAt} ms from the heal, ` +
        `closed ${closedAt - healedAt} ms after it; ` +
        `${halfOpenSpans.length} S3 request(s) while half-open ` +
        `(${halfOpenSpans.map((s) => `${s.start - healedAt}–${s.end - healedAt} ms`).join(", ")}), ` +
        `at most ${overlap} at a time; ${meter.spans.length} S3 requests in all; ` +
        `replica answers ${JSON.stringify(countBy(answers))}`,
    );
    expect(closed.state).toBe(BreakerState.CLOSED);
    expect(halfOpenSpans.length).toBeGreaterThanOrEqual(2); // success_threshold
    expect(overlap).toBeLessThanOrEqual(1); // half_open_max_probes
    expect(halfOpenSpans.every((s) => s.end - s.start >= 195)).toBe(true);
    // Closed everywhere: reads reach storage again on every replica.
    for (const c of clients) expect(await read(c, `never/${coldKey()}`)).toMatchObject({ code: Code.NotFound });
  });

  it("coordinator SIGKILLed: requests keep flowing, replicas detach and protect themselves locally", async () => {
    const key = CACHED[0]!;
    const latencies = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 200; i++) {
        const started = performance.now();
        const res = await gw(key);
        expect(await res.text()).toBe(body(key));
        expect(res.status).toBe(200);
        out.push(performance.now() - started);
      }
      return out;
    };
    await latencies(); // warm-up
    const attached = await latencies();
    const killedAt = performance.now();
    expect(await coordinator.stop("SIGKILL")).toBe("SIGKILL");
    // Every replica's GetStats watched while the reads go on (a bound that only catches a replica never detaching).
    const detachedAfter: (number | undefined)[] = [undefined, undefined, undefined];
    const watched = eventually(
      async () => {
        const bs = await replicaBreakers();
        bs.forEach((b, i) => (detachedAfter[i] ??= b.detached ? performance.now() - killedAt : undefined));
        return detachedAfter.every((t) => t !== undefined);
      },
      { what: "every replica detached" },
    );
    const cutOff = await latencies();
    const cutOffMs = performance.now() - killedAt;
    await watched;
    const detached = await latencies();
    const fmt = (xs: number[]): string =>
      `p50 ${percentile(xs, 50).toFixed(2)} / p99 ${percentile(xs, 99).toFixed(2)} ms`;
    console.info(
      `200 gateway reads of a cached key: attached ${fmt(attached)}; ` +
        `from the SIGKILL on (over ${cutOffMs.toFixed(0)} ms) ${fmt(cutOff)}; ` +
        `detached ${fmt(detached)}; ` +
        `replicas detached ${detachedAfter.map((t) => t!.toFixed(0)).join("/")} ms after SIGKILL (detach_after 1 s)`,
    );
    // Requests never wait on the coordinator: every read above answered 200 with the body, with it gone,
    // none taking seconds (how fast, attached or not, is a figure for npm run bench).
    for (const xs of [cutOff, detached]) expect(Math.max(...xs)).toBeLessThan(5_000);
    await expect
      .poll(() => gateway.output.some((l) => l.includes("coordinator unreachable")), { timeout: 2_000 })
      .toBe(true);

    // S3 fails again: with no coordinator, each replica's own breaker opens and its S3 calls stop.
    proxy.setMode(s3Unavailable);
    proxy.reset();
    const failingAt = performance.now();
    let localReads = 0;
    await expect
      .poll(
        async () => {
          await Promise.all(clients.map((c) => read(c, coldKey()).then(() => localReads++)));
          return (await replicaBreakers()).map((b) => `${b.state}${b.detached ? " detached" : ""}`);
        },
        { timeout: 5_000, interval: 0 },
      )
      .toEqual(Array(3).fill("open detached"));
    const toOpen = proxy.requests.length;
    const openMs = performance.now() - failingAt;
    proxy.reset();
    const before = await Promise.all(replicas.map(storageCalls));
    const t0 = performance.now();
    const refusedMs: number[] = [];
    while (performance.now() - t0 < 500) {
      await Promise.all(
        clients.map(async (c) => {
          const started = performance.now();
          const r = await read(c, coldKey());
          refusedMs.push(performance.now() - started);
          expect(r).toMatchObject({ code: Code.Unavailable });
        }),
      );
    }
    const perReplica = (await Promise.all(replicas.map(storageCalls))).map((n, i) => n - before[i]!);
    console.info(
      `detached, S3 503: every local breaker open after ${localReads} reads, ` +
        `${toOpen} S3 requests, ${openMs.toFixed(0)} ms; ` +
        `then ${refusedMs.length} reads in 500 ms sent ${proxy.requests.length} S3 requests ` +
        `(per replica ${perReplica.join("/")}), refused in p50 ${percentile(refusedMs, 50).toFixed(2)} ms`,
    );
    expect(proxy.requests.length).toBe(0);
    expect(perReplica).toEqual([0, 0, 0]);
  });

  it("coordinator back on the same port: every replica reattaches and follows it again", async () => {
    proxy.setMode({ kind: "pass" });
    coordinator = await startServiceProcess("breaker-coordinator", { env: coordinatorEnv });
    const restartAt = performance.now();
    expect(coordinator.grpcPort).toBe(coordinatorPort);
    await expect
      .poll(async () => (await replicaBreakers()).every((b) => !b.detached), { timeout: 10_000, interval: 50 })
      .toBe(true);
    const reattachMs = performance.now() - restartAt;
    await expect
      .poll(
        () => gateway.output.some((l) => l.includes("breaker session attached") && l.includes('"afterDetach":true')),
        { timeout: 10_000 },
      )
      .toBe(true);

    // Agreement: with S3 healthy and traffic, the coordinator's view and every replica's converge (closed).
    const views = async (): Promise<string[]> => {
      await Promise.all(clients.map((c) => read(c, coldKey())));
      const fleet = BreakerState[(await fleetState()).state];
      return [fleet, ...(await replicaBreakers()).map((b) => b.state)];
    };
    await expect.poll(views, { timeout: 15_000, interval: 50 }).toEqual(["CLOSED", "closed", "closed", "closed"]);
    const agreedMs = performance.now() - restartAt;

    // The operator forces it open: every replica refuses S3 calls at once, S3 healthy or not.
    const forcedAt = performance.now();
    const forced = await ops.forceBreaker({
      name: breakerName,
      mode: ForceMode.OPEN,
      reason: "fleet test",
      ttl: { seconds: 60n },
    });
    expect(forced.breaker?.state).toBe(BreakerState.OPEN);
    await expect
      .poll(async () => (await replicaBreakers()).map((b) => b.state), { timeout: 2_000, interval: 5 })
      .toEqual(["open", "open", "open"]);
    const followedMs = performance.now() - forcedAt;
    proxy.reset();
    for (const c of clients) {
      expect(await read(c, coldKey())).toMatchObject({ code: Code.Unavailable });
      expect(await read(c, CACHED[1]!)).toMatchObject({ status: STALE, body: body(CACHED[1]!) });
    }
    const gwCold = await gw(coldKey());
    expect(gwCold.status).toBe(503);
    expect(gwCold.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(proxy.requests.length).toBe(0);

    // And back to automatic: every replica closes and reads reach S3 again.
    await ops.forceBreaker({ name: breakerName, mode: ForceMode.AUTO, reason: "fleet test done" });
    await expect
      .poll(async () => (await replicaBreakers()).map((b) => b.state), { timeout: 2_000, interval: 5 })
      .toEqual(["closed", "closed", "closed"]);
    for (const c of clients) expect(await read(c, `never/${coldKey()}`)).toMatchObject({ code: Code.NotFound });
    expect(proxy.requests.length).toBe(3);
    console.info(
      `coordinator restarted: every replica reattached ${reattachMs.toFixed(0)} ms after it listened, ` +
        `agreed (all closed) after ${agreedMs.toFixed(0)} ms; ` +
        `forced OPEN → all 3 replicas open in ${followedMs.toFixed(0)} ms, 0 S3 requests while forced`,
    );
  });

  const uncachedWhileOpen =
    "S3 breaker open again, many uncached reads through the gateway: each answers 503 + Retry-After; " +
    "cached keys still answer 200 with `detail=stale`: " +
    "a replica's storage UNAVAILABLE does not open the gateway's upstream breakers; /readyz stays 200";
  it(uncachedWhileOpen, async () => {
    await ops.forceBreaker({ name: breakerName, mode: ForceMode.OPEN, reason: "gateway check", ttl: { seconds: 60n } });
    try {
      await expect
        .poll(async () => (await replicaBreakers()).map((b) => b.state), { timeout: 2_000, interval: 5 })
        .toEqual(["open", "open", "open"]);
      for (let i = 0; i < 15; i++) {
        const res = await gw(coldKey());
        expect(res.status).toBe(503);
        expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
        await res.arrayBuffer();
      }
      const cachedAfterMisses: { status: number; cacheStatus: string | null; body: string }[] = [];
      for (const key of CACHED) {
        const res = await gw(key);
        cachedAfterMisses.push({
          status: res.status,
          cacheStatus: res.headers.get("cache-status"),
          body: await res.text(),
        });
      }
      const ready = await fetch(`${gateway.httpUrl}/readyz`);
      await ready.arrayBuffer();
      const states = await gatewayUpstreamStates();
      console.info(
        `after 15 uncached reads through the gateway: ` +
          `cached keys answered ${JSON.stringify(cachedAfterMisses.map((a) => `${a.status} ${a.cacheStatus}`))}; ` +
          `/readyz ${ready.status}; gateway_upstream_breaker_state (2 = open): ${states.join(", ")}`,
      );
      cachedAfterMisses.forEach((a, i) => {
        expect(a.status).toBe(200);
        expect(a.cacheStatus).toMatch(/detail=stale/);
        expect(a.body).toBe(body(CACHED[i]!));
      });
      expect(ready.status).toBe(200);
      expect(states).toEqual([0, 0, 0]);
    } finally {
      await ops.forceBreaker({ name: breakerName, mode: ForceMode.AUTO, reason: "gateway check done" });
    }
  });

  const forcedOpen =
    "every upstream breaker forced open at the coordinator: " +
    "the gateway answers 503 + Retry-After + JSON without calling a replica, /readyz 503; AUTO serves again";
  it(forcedOpen, async () => {
    await ops.forceBreaker({ name: breakerName, mode: ForceMode.AUTO, reason: "storage back" });
    const upstreams = replicas.map((r) => `cache-store:${r.grpcAddress}`);
    for (const name of upstreams)
      await ops.forceBreaker({ name, mode: ForceMode.OPEN, reason: "upstream drill", ttl: { seconds: 60n } });
    await expect.poll(gatewayUpstreamStates, { timeout: 2_000, interval: 5 }).toEqual([2, 2, 2]);
    const readsServed = (): Promise<bigint[]> =>
      Promise.all(
        clients.map(async (c) => {
          const st = await c.getStats({});
          return st.hits + st.misses + st.staleServed;
        }),
      );
    const before = await readsServed();
    const res = await gw(CACHED[0]!);
    expect(res.status).toBe(503);
    const retryAfter = res.headers.get("retry-after");
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toMatchObject({
      code: "unavailable",
      error: expect.stringMatching(/upstream/),
      retry_after: Number(retryAfter),
    });
    expect((await fetch(`${gateway.httpUrl}/readyz`)).status).toBe(503);
    expect(await readsServed()).toEqual(before);
    for (const name of upstreams) await ops.forceBreaker({ name, mode: ForceMode.AUTO, reason: "drill done" });
    await expect.poll(gatewayUpstreamStates, { timeout: 2_000, interval: 5 }).toEqual([0, 0, 0]);
    const again = await gw(CACHED[0]!);
    expect(again.status).toBe(200);
    expect(await again.text()).toBe(body(CACHED[0]!));
  });
});

function countBy(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
