import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { breakerV1, cacheV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { startCountingProxy, startServiceProcess, type CountingProxy, type ServiceProcess } from "@breakwater/testkit";
import { startChildServer, type ChildServer } from "./child-server.js";
import { startRequestRecorder, type RequestRecorder } from "./request-recorder.js";

/** s3rver's fixed credentials (design.md "Configuration and ports"); s3-server-main.js serves with them. */
const s3Keys = { S3_ACCESS_KEY: "S3RVER", S3_SECRET_KEY: "S3RVER" };

/** Options of `startCacheStoreFleet`. */
export interface CacheStoreFleetOptions {
  /** cache-store processes to start (≥ 1). */
  readonly replicas: number;
  /** The BREAKER_CONFIG file's text, shared by the coordinator and every replica. */
  readonly breakerYaml: string;
  /** Progress lines (pids, addresses). */
  readonly log: (line: string) => void;
  /** How long to wait for every replica's session with the coordinator (default 10 s). */
  readonly attachTimeoutMs?: number;
}

/** A breaker-coordinator and cache-store replicas as operators run them, with storage that can be made to fail. */
export interface CacheStoreFleet {
  /** The storage breaker every replica applies: `s3:<recorder url>`. */
  readonly breaker: string;
  /** First hop of storage: timestamps every request and its answer. */
  readonly recorder: RequestRecorder;
  /** Second hop: injects the faults (`setMode`) and counts. */
  readonly proxy: CountingProxy;
  readonly coordinator: ServiceProcess;
  readonly replicas: readonly ServiceProcess[];
  /** One CacheService client per replica, in the same order. */
  readonly clients: readonly GrpcClient<typeof cacheV1.CacheService>[];
  readonly ops: GrpcClient<typeof breakerV1.BreakerCoordinator>;
  /** The coordinator's breaker; undefined while it knows none of that name. */
  fleetBreaker(): Promise<breakerV1.Breaker | undefined>;
  /** Each replica's breaker as its GetStats says: "closed", "open", "half_open", with " detached" when cut off. */
  replicaStates(): Promise<string[]>;
  /** Stops every process (SIGTERM, SIGKILL after 5 s) and server, and removes the temp files; on failure too. */
  close(): Promise<void>;
}

/**
 * Starts s3rver in a process of its own (s3-server-main.js, so its work does
 * not hold up this process's event loop), testkit's counting proxy in front
 * of it, a request recorder in front of that, one breaker-coordinator and
 * `replicas` cache-store processes whose S3 endpoint is the recorder — the
 * setup of apps/gateway's fleet-breakers test — and waits until every
 * replica holds a session. The apps run from apps/<name>/dist (build first).
 */
export async function startCacheStoreFleet(options: CacheStoreFleetOptions): Promise<CacheStoreFleet> {
  const dir = mkdtempSync(join(tmpdir(), "bw-bench-fleet-"));
  let s3: ChildServer | undefined;
  let proxy: CountingProxy | undefined;
  let recorder: RequestRecorder | undefined;
  let coordinator: ServiceProcess | undefined;
  const replicas: ServiceProcess[] = [];
  const clients: GrpcClient<typeof cacheV1.CacheService>[] = [];
  let ops: GrpcClient<typeof breakerV1.BreakerCoordinator> | undefined;
  // The apps are not startChildServer children: kill them by pid if the bench exits before close().
  const killAll = (): void => {
    for (const p of [...replicas, coordinator]) {
      try {
        if (p !== undefined) process.kill(p.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  };
  process.once("exit", killAll);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      proxy?.setMode({ kind: "pass" });
      for (const c of clients) c.close();
      ops?.close();
      await Promise.all(
        [...replicas, coordinator].map(async (p) => {
          if (p === undefined) return;
          const timer = setTimeout(() => p.child.kill("SIGKILL"), 5_000);
          await p.stop("SIGTERM");
          clearTimeout(timer);
        }),
      );
      process.off("exit", killAll);
      await recorder?.close();
      await proxy?.close();
      await s3?.stop();
      rmSync(dir, { recursive: true, force: true });
    })());
  try {
    writeFileSync(join(dir, "breakers.yaml"), options.breakerYaml);
    // The compiled script, whether this file runs compiled (dist) or from source in tests (src).
    s3 = await startChildServer({
      name: "s3rver",
      script: fileURLToPath(new URL("../dist/s3-server-main.js", import.meta.url)),
      args: [],
    });
    const s3Endpoint = `http://127.0.0.1:${s3.port}`;
    proxy = await startCountingProxy(s3Endpoint);
    recorder = await startRequestRecorder(proxy.url);
    const breaker = `s3:${recorder.url}`;
    const shared = { BREAKER_CONFIG: join(dir, "breakers.yaml") };
    coordinator = await startServiceProcess("breaker-coordinator", {
      env: { ...shared, COORDINATOR_HOST: "127.0.0.1", COORDINATOR_STATE_FILE: join(dir, "state.json") },
    });
    options.log(`  coordinator: pid ${coordinator.pid}, gRPC ${coordinator.grpcAddress}`);
    const coordinatorOps = (ops = createGrpcClient(breakerV1.BreakerCoordinator, coordinator.grpcAddress));
    for (let i = 0; i < options.replicas; i++) {
      const p = await startServiceProcess("cache-store", {
        env: {
          ...shared,
          ...s3Keys,
          COORDINATOR_URL: `http://${coordinator.grpcAddress}`,
          S3_ENDPOINT: recorder.url,
          S3_REQUEST_TIMEOUT: "2s",
          CACHE_STORE_HOST: "127.0.0.1",
          SHUTDOWN_GRACE_MS: "500",
        },
      });
      replicas.push(p);
      clients.push(createGrpcClient(cacheV1.CacheService, p.grpcAddress));
      options.log(`  cache-store ${i}: pid ${p.pid}, gRPC ${p.grpcAddress}`);
    }
    options.log(
      `  storage: replicas → recorder ${recorder.url} → counting proxy ${proxy.url} ` +
        `→ s3rver ${s3Endpoint} (pid ${s3.pid}); breaker ${breaker}`,
    );
    const deadline = performance.now() + (options.attachTimeoutMs ?? 10_000);
    for (;;) {
      const { instances } = await coordinatorOps.listInstances({});
      if (instances.filter((i) => i.status === breakerV1.InstanceStatus.LIVE).length === options.replicas) break;
      if (performance.now() > deadline)
        throw new Error(`not every replica holds a session with the coordinator: ${instances.length} instances`);
      await sleep(50);
    }
    return {
      breaker,
      recorder,
      proxy,
      coordinator,
      replicas,
      clients,
      ops: coordinatorOps,
      async fleetBreaker() {
        try {
          return (await coordinatorOps.getBreaker({ name: breaker })).breaker;
        } catch {
          return undefined; // NOT_FOUND: no instance has reported on it yet
        }
      },
      replicaStates: () =>
        Promise.all(
          clients.map(async (c) => {
            const b = (await c.getStats({})).breakers.find((x) => x.name === breaker);
            return b === undefined ? "unknown" : `${b.state}${b.detached ? " detached" : ""}`;
          }),
        ),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
