/**
 * The coordinated breakers across a real fleet (issue 5, "Must show"):
 * s3rver ← latency meter ← counting fault proxy ← 3 cache-store replicas ←
 * gateway, with a breaker-coordinator, every one a real process but s3rver,
 * the meter and the proxy. Phases, in order:
 *
 * 1. S3 answers 503: the breaker `s3:<proxy>` opens fleet-wide; after the
 *    transition each replica sends at most one further request to S3; cached
 *    keys are served stale, uncached ones answer 503 + Retry-After.
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
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { breakerV1, cacheV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import {
  freePort,
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

// open_timeout 2 s: the 1 s measured after the opening lies inside the open spell (no probe due yet).
const OPEN_TIMEOUT_MS = 2_000;
const YAML = [
  "defaults:",
  "  open_timeout: 2s",
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
 * An HTTP hop in front of s3rver that sees every request reaching storage:
 * when each started and ended (wall clock, as the coordinator's timestamps),
 * with an optional latency so that overlapping calls would show.
 */
interface StorageMeter {
  readonly url: string;
  latencyMs: number;
  readonly spans: { start: number; end: number }[];
  close(): Promise<void>;
}

async function startStorageMeter(target: string): Promise<StorageMeter> {
  const origin = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const meter = {
    url: "",
    latencyMs: 0,
    spans: [] as { start: number; end: number }[],
    close: async () => undefined as void,
  };
  const server: Server = createServer((req, res) => {
    const span = { start: Date.now(), end: Number.NaN };
    meter.spans.push(span);
    res.on("close", () => (span.end = Date.now()));
    const forward = (): void => {
      const up = request(
        { host: origin.hostname, port: Number(origin.port), method: req.method, path: req.url, headers: req.rawHeaders, setHost: false, agent },
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
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
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
async function read(client: CacheClient, key: string): Promise<{ status: cacheV1.CacheStatus; body: string } | ConnectError> {
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

/** Every storage call a replica made, by its storage_request_duration_seconds histogram (refused calls are not made). */
async function storageCalls(p: ServiceProcess): Promise<number> {
  const text = await (await fetch(`${p.httpUrl}/metrics`)).text();
  let n = 0;
  for (const line of text.split("\n")) if (line.startsWith("storage_request_duration_seconds_count")) n += Number(line.split(" ").at(-1));
  return n;
}

const timestampMs = (t: { seconds: bigint; nanos: number } | undefined): number =>
  t === undefined ? Number.NaN : Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
/** For hooks, where expect.poll is not allowed: waits until `cond` holds, or throws after `timeoutMs`. */
async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const start = performance.now();
  while (!(await cond())) {
    if (performance.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
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
  const replicaBreakers = async (): Promise<cacheV1.BreakerStatus[]> =>
    Promise.all(clients.map(async (c) => (await c.getStats({})).breakers.find((b) => b.name === breakerName)!));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-fleet-"));
    writeFileSync(join(dir, "breakers.yaml"), YAML);
    s3 = await startS3Server({ buckets: ["default"] });
    meter = await startStorageMeter(s3.endpoint);
    proxy = await startCountingProxy(meter.url);
    breakerName = `s3:${proxy.url}`;
    coordinatorPort = await freePort();
    const shared = { BREAKER_CONFIG: join(dir, "breakers.yaml"), COORDINATOR_URL: `http://127.0.0.1:${coordinatorPort}` };
    coordinatorEnv = { ...shared, COORDINATOR_PORT: String(coordinatorPort), COORDINATOR_STATE_FILE: join(dir, "state.json") };
    coordinator = await startServiceProcess("breaker-coordinator", { env: coordinatorEnv });
    ops = createGrpcClient(breakerV1.BreakerCoordinator, coordinator.grpcAddress);
    for (let i = 0; i < 3; i++) {
      const p = await startServiceProcess("cache-store", {
        env: {
          ...shared,
          S3_ENDPOINT: proxy.url,
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
    gateway = await startServiceProcess("gateway", {
      env: {
        ...shared,
        CACHE_STORE_URLS: replicas.map((r) => `http://${r.grpcAddress}`).join(","),
        GATEWAY_HOST: "127.0.0.1",
        GATEWAY_CACHE_MAX_BYTES: "0",
      },
    });
    // Every replica and the gateway hold a session before anything fails.
    await waitFor(async () => (await ops.listInstances({})).instances.filter((i) => i.status === breakerV1.InstanceStatus.LIVE).length === 4, 10_000);
  });

  afterAll(async () => {
    proxy?.setMode({ kind: "pass" });
    for (const c of clients) c.close();
    ops?.close();
    const all = [gateway, ...replicas, coordinator].filter((p) => p !== undefined);
    await Promise.all(all.map((p) => p.stop("SIGTERM")));
    // Nothing outlives the test: every process exited, every storage connection closed.
    expect(all.every((p) => p.child.exitCode !== null || p.child.signalCode !== null)).toBe(true);
    await waitFor(() => (proxy?.openConnections ?? 0) === 0, 5_000);
    await proxy?.close();
    await meter?.close();
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

  it("S3 answers 503: opens fleet-wide; afterwards each replica sends at most one more request to S3; stale for cached keys, 503 + Retry-After for others", async () => {
    proxy.setMode(s3Unavailable);
    const failingSince = Date.now();
    // One read at a time through the gateway (round robin over the 3 replicas), watching the coordinator;
    // after each read, how many requests the proxy has seen so far (it keeps no timestamps itself).
    const seen = [{ at: failingSince, n: 0 }];
    let reads = 0;
    for (;;) {
      const b = await fleetState();
      if (b.state === BreakerState.OPEN) break;
      expect(Date.now() - failingSince).toBeLessThan(10_000);
      await (await gw(reads % 2 === 0 ? CACHED[reads % 3]! : coldKey())).arrayBuffer();
      reads++;
      seen.push({ at: Date.now(), n: proxy.requests.length });
    }
    const seenAt = Date.now();
    // "After the transition", two ways:
    // (a) from the coordinator's transition instant (GetBreaker.since): the proxy's count at the last
    //     sample taken before it is a lower bound of what came before, so the count after it is an
    //     upper bound; it includes calls admitted before a replica applied the pushed transition;
    // (b) from the moment the test sees OPEN (nothing of ours in flight then), per replica from its
    //     storage-call histogram, and at the proxy.
    // With open_timeout 2 s no half-open probe is due within the 1 s measured, so all that may reach
    // S3 is a call admitted before the replica learned of the transition: at most one per replica,
    // at most 3 at the proxy.
    const opened = await fleetState();
    const openedAt = timestampMs(opened.since);
    const s3RequestsBeforeOpen = proxy.requests.length;
    const lastBeforeOpen = seen.filter((x) => x.at <= openedAt).at(-1)!;
    const betweenOpenAndSeen = s3RequestsBeforeOpen - lastBeforeOpen.n;
    proxy.reset();
    const before = await Promise.all(replicas.map(storageCalls));
    expect(before.every((n) => n > 0)).toBe(true); // the histogram does count this replica's storage calls
    const t0 = performance.now();
    // Direct to each replica and through the gateway, cached and uncached keys.
    const tally = { staleGrpc: 0, freshGrpc: 0, unavailableGrpc: 0, staleGw: 0, freshGw: 0, unavailableGw: 0, other: [] as string[] };
    while (performance.now() - t0 < 1_000) {
      await Promise.all(
        clients.map(async (c, i) => {
          const cached = await read(c, CACHED[i]!);
          if (!(cached instanceof ConnectError) && cached.status === STALE && cached.body === body(CACHED[i]!)) tally.staleGrpc++;
          // Still fresh (CACHE_TTL 300 ms from the warm-up read) is a right answer too.
          else if (!(cached instanceof ConnectError) && cached.status === HIT && cached.body === body(CACHED[i]!)) tally.freshGrpc++;
          else tally.other.push(`replica ${i} cached: ${cached instanceof ConnectError ? cached.code : cached.status}`);
          const miss = await read(c, coldKey());
          if (miss instanceof ConnectError && miss.code === Code.Unavailable && Number(miss.metadata.get("retry-after-ms")) > 0) tally.unavailableGrpc++;
          else tally.other.push(`replica ${i} uncached: ${miss instanceof ConnectError ? `${miss.code} ${miss.metadata.get("retry-after-ms")}` : miss.status}`);
        }),
      );
      for (const key of CACHED) {
        const res = await gw(key);
        const text = await res.text();
        if (res.status === 200 && /detail=stale/.test(res.headers.get("cache-status") ?? "") && text === body(key)) tally.staleGw++;
        else if (res.status === 200 && /; hit$/.test(res.headers.get("cache-status") ?? "") && text === body(key)) tally.freshGw++;
        else tally.other.push(`gateway cached: ${res.status} ${res.headers.get("cache-status")} ${text.slice(0, 80)}`);
      }
      const res = await gw(coldKey());
      const retryAfter = res.headers.get("retry-after");
      const json = (await res.json().catch(() => ({}))) as { retry_after?: number };
      if (res.status === 503 && /^\d+$/.test(retryAfter ?? "") && json.retry_after === Number(retryAfter)) tally.unavailableGw++;
      else tally.other.push(`gateway uncached: ${res.status} retry-after=${retryAfter} ${JSON.stringify(json)}`);
    }
    const after = await Promise.all(replicas.map(storageCalls));
    const perReplica = after.map((n, i) => n - before[i]!);
    const sinceTransition = betweenOpenAndSeen + proxy.requests.length;
    console.info(
      `S3 503: fleet OPEN ${openedAt - failingSince} ms after the first failure, seen by the test ${seenAt - openedAt} ms later after ${reads} gateway reads ` +
        `(${s3RequestsBeforeOpen} S3 requests, ≤ ${betweenOpenAndSeen} of them after the transition); in the next ${(performance.now() - t0).toFixed(0)} ms: ` +
        `${proxy.requests.length} S3 requests at the proxy, per replica ${perReplica.join("/")}; ≤ ${sinceTransition} S3 requests since the transition; ` +
        `answers: ${JSON.stringify({ ...tally, other: tally.other.length })}`,
    );
    if (tally.other.length > 0) console.info(`unexpected answers (first 10): ${JSON.stringify(tally.other.slice(0, 10), null, 1)}`);
    expect((await fleetState()).state).toBe(BreakerState.OPEN);
    expect(sinceTransition).toBeLessThanOrEqual(3);
    expect(proxy.requests.length).toBeLessThanOrEqual(3);
    for (const n of perReplica) expect(n).toBeLessThanOrEqual(1);
    expect((await replicaBreakers()).map((b) => b.state)).toEqual(["open", "open", "open"]);
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
          await sleep(10);
        }
      }),
    );
    try {
      await expect
        .poll(async () => (await fleetState()).state === BreakerState.CLOSED && (await replicaBreakers()).every((b) => b.state === "closed"), {
          timeout: OPEN_TIMEOUT_MS + 8_000,
          interval: 50,
        })
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
      `healed: half-open at ${timestampMs(opened.openUntil) - healedAt} ms from the heal, closed ${closedAt - healedAt} ms after it; ` +
        `${halfOpenSpans.length} S3 request(s) while half-open (${halfOpenSpans.map((s) => `${s.start - healedAt}–${s.end - healedAt} ms`).join(", ")}), ` +
        `at most ${overlap} at a time; ${meter.spans.length} S3 requests in all; replica answers ${JSON.stringify(countBy(answers))}`,
    );
    expect(closed.state).toBe(BreakerState.CLOSED);
    expect(halfOpenSpans.length).toBeGreaterThanOrEqual(2); // success_threshold
    expect(overlap).toBeLessThanOrEqual(1); // half_open_max_probes
    expect(halfOpenSpans.every((s) => s.end - s.start >= 195)).toBe(true);
    // Closed everywhere: reads reach storage again on every replica.
    for (const c of clients) expect(await read(c, `never/${coldKey()}`)).toMatchObject({ code: Code.NotFound });
  });

  it("coordinator SIGKILLed: requests keep flowing at the same latency, replicas detach and protect themselves locally", async () => {
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
    // Watch every replica's GetStats in the background while the reads go on.
    const detachedAfter: (number | undefined)[] = [undefined, undefined, undefined];
    let watching = true;
    const watcher = (async () => {
      while (watching && detachedAfter.some((t) => t === undefined)) {
        const bs = await replicaBreakers();
        bs.forEach((b, i) => (detachedAfter[i] ??= b.detached ? performance.now() - killedAt : undefined));
        await sleep(20);
      }
    })();
    const cutOff = await latencies();
    const cutOffMs = performance.now() - killedAt;
    await expect.poll(() => detachedAfter.every((t) => t !== undefined), { timeout: 3_000, interval: 20 }).toBe(true);
    watching = false;
    await watcher;
    const detached = await latencies();
    const fmt = (xs: number[]): string => `p50 ${percentile(xs, 50).toFixed(2)} / p99 ${percentile(xs, 99).toFixed(2)} ms`;
    console.info(
      `200 gateway reads of a cached key: attached ${fmt(attached)}; from the SIGKILL on (over ${cutOffMs.toFixed(0)} ms) ${fmt(cutOff)}; ` +
        `detached ${fmt(detached)}; replicas detached ${detachedAfter.map((t) => t!.toFixed(0)).join("/")} ms after SIGKILL (detach_after 1 s)`,
    );
    // Requests never wait on the coordinator: the median stays within 2× (0.5 ms of slack for sub-ms noise).
    const bound = Math.max(2 * percentile(attached, 50), percentile(attached, 50) + 0.5);
    for (const xs of [cutOff, detached]) expect(percentile(xs, 50)).toBeLessThanOrEqual(bound);
    for (const t of detachedAfter) expect(t!).toBeLessThan(2_000);
    await expect.poll(() => gateway.output.some((l) => l.includes("coordinator unreachable")), { timeout: 2_000 }).toBe(true);

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
      `detached, S3 503: every local breaker open after ${localReads} reads, ${toOpen} S3 requests, ${openMs.toFixed(0)} ms; ` +
        `then ${refusedMs.length} reads in 500 ms sent ${proxy.requests.length} S3 requests (per replica ${perReplica.join("/")}), refused in p50 ${percentile(refusedMs, 50).toFixed(2)} ms`,
    );
    expect(proxy.requests.length).toBe(0);
    expect(perReplica).toEqual([0, 0, 0]);
  });

  it("coordinator back on the same port: every replica reattaches and follows it again", async () => {
    proxy.setMode({ kind: "pass" });
    coordinator = await startServiceProcess("breaker-coordinator", { env: coordinatorEnv });
    const restartAt = performance.now();
    expect(coordinator.grpcPort).toBe(coordinatorPort);
    await expect.poll(async () => (await replicaBreakers()).every((b) => !b.detached), { timeout: 10_000, interval: 50 }).toBe(true);
    const reattachMs = performance.now() - restartAt;
    await expect.poll(() => gateway.output.some((l) => l.includes("breaker session attached") && l.includes('"afterDetach":true')), { timeout: 10_000 }).toBe(true);

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
    const forced = await ops.forceBreaker({ name: breakerName, mode: ForceMode.OPEN, reason: "fleet test", ttl: { seconds: 60n } });
    expect(forced.breaker?.state).toBe(BreakerState.OPEN);
    await expect.poll(async () => (await replicaBreakers()).map((b) => b.state), { timeout: 2_000, interval: 5 }).toEqual(["open", "open", "open"]);
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
    await expect.poll(async () => (await replicaBreakers()).map((b) => b.state), { timeout: 2_000, interval: 5 }).toEqual(["closed", "closed", "closed"]);
    for (const c of clients) expect(await read(c, `never/${coldKey()}`)).toMatchObject({ code: Code.NotFound });
    expect(proxy.requests.length).toBe(3);
    console.info(
      `coordinator restarted: every replica reattached ${reattachMs.toFixed(0)} ms after it listened, agreed (all closed) after ${agreedMs.toFixed(0)} ms; ` +
        `forced OPEN → all 3 replicas open in ${followedMs.toFixed(0)} ms, 0 S3 requests while forced`,
    );
  });

  /** What the gateway answered for cached keys after many uncached reads while storage's breaker was open. */
  let cachedAfterMisses: { status: number; cacheStatus: string | null; body: string }[] = [];
  /** The gateway's /readyz status and `gateway_upstream_breaker_state` lines at that moment. */
  let readyAfterMisses = 0;
  let upstreamStatesAfterMisses: string[] = [];

  it("S3 breaker open again, many uncached reads through the gateway: each answers 503 + Retry-After", async () => {
    await ops.forceBreaker({ name: breakerName, mode: ForceMode.OPEN, reason: "gateway check", ttl: { seconds: 60n } });
    await expect.poll(async () => (await replicaBreakers()).map((b) => b.state), { timeout: 2_000, interval: 5 }).toEqual(["open", "open", "open"]);
    for (let i = 0; i < 15; i++) {
      const res = await gw(coldKey());
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      await res.arrayBuffer();
    }
    cachedAfterMisses = [];
    for (const key of CACHED) {
      const res = await gw(key);
      cachedAfterMisses.push({ status: res.status, cacheStatus: res.headers.get("cache-status"), body: await res.text() });
    }
    const ready = await fetch(`${gateway.httpUrl}/readyz`);
    const metrics = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
    const upstreamStates = metrics.split("\n").filter((l) => l.startsWith("gateway_upstream_breaker_state{"));
    console.info(
      `after 15 uncached reads through the gateway: cached keys answered ${JSON.stringify(cachedAfterMisses.map((a) => `${a.status} ${a.cacheStatus}`))}; ` +
        `/readyz ${ready.status}; gateway_upstream_breaker_state (2 = open): ${upstreamStates.join(", ")}`,
    );
    await ready.arrayBuffer();
    readyAfterMisses = ready.status;
    upstreamStatesAfterMisses = upstreamStates;
  });

  it("… and cached keys still answer 200 with `detail=stale`: a replica's storage UNAVAILABLE does not open the gateway's upstream breakers; /readyz stays 200", () => {
    expect(cachedAfterMisses).toHaveLength(CACHED.length);
    cachedAfterMisses.forEach((a, i) => {
      expect(a.status).toBe(200);
      expect(a.cacheStatus).toMatch(/detail=stale/);
      expect(a.body).toBe(body(CACHED[i]!));
    });
    expect(readyAfterMisses).toBe(200);
    expect(upstreamStatesAfterMisses).toHaveLength(3);
    for (const line of upstreamStatesAfterMisses) expect(line).toMatch(/ 0$/);
  });

  it("every upstream breaker forced open at the coordinator: the gateway answers 503 + Retry-After + JSON without calling a replica, /readyz 503; AUTO serves again", async () => {
    await ops.forceBreaker({ name: breakerName, mode: ForceMode.AUTO, reason: "storage back" });
    const upstreams = replicas.map((r) => `cache-store:${r.grpcAddress}`);
    for (const name of upstreams) await ops.forceBreaker({ name, mode: ForceMode.OPEN, reason: "upstream drill", ttl: { seconds: 60n } });
    const upstreamStates = async (): Promise<string[]> =>
      (await (await fetch(`${gateway.httpUrl}/metrics`)).text()).split("\n").filter((l) => l.startsWith("gateway_upstream_breaker_state{")).map((l) => l.split(" ").at(-1)!);
    await expect.poll(upstreamStates, { timeout: 2_000, interval: 5 }).toEqual(["2", "2", "2"]);
    const readsServed = (): Promise<bigint[]> =>
      Promise.all(clients.map(async (c) => {
        const st = await c.getStats({});
        return st.hits + st.misses + st.staleServed;
      }));
    const before = await readsServed();
    const res = await gw(CACHED[0]!);
    expect(res.status).toBe(503);
    const retryAfter = res.headers.get("retry-after");
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toMatchObject({ code: "unavailable", error: expect.stringMatching(/upstream/), retry_after: Number(retryAfter) });
    expect((await fetch(`${gateway.httpUrl}/readyz`)).status).toBe(503);
    expect(await readsServed()).toEqual(before);
    for (const name of upstreams) await ops.forceBreaker({ name, mode: ForceMode.AUTO, reason: "drill done" });
    await expect.poll(upstreamStates, { timeout: 2_000, interval: 5 }).toEqual(["0", "0", "0"]);
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
