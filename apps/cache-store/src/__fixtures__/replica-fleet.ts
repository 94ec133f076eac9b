/**
 * Several built cache-store processes over one s3rver, each following the
 * others' invalidations (CACHE_STORE_PEERS). A replica's gRPC port is chosen
 * before any replica starts, since each one's peers must be known up front;
 * a replica can be killed and started again on the same port.
 * Build first (`npx nx run-many -t build`).
 */
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { cacheV1, healthV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
// Test support only: this directory is excluded from the app's build.
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  directS3Client,
  freePort,
  startCountingProxy,
  startS3Server,
  startServiceProcess,
  type CountingProxy,
  type S3Server,
  type ServiceProcess,
} from "@breakwater/testkit";
import { type CacheClient } from "./cache-store-stack.js";

/** One replica: a process that can be killed and started again on its port. */
export interface Replica {
  readonly name: string;
  /** "http://127.0.0.1:<grpcPort>", as its peers list it. */
  readonly url: string;
  readonly grpcPort: number;
  /** The running process (replaced by `start()`). */
  readonly process: ServiceProcess;
  /** A client of the running process (replaced by `start()`). */
  readonly client: CacheClient;
  readonly health: GrpcClient<typeof healthV1.Health>;
  /** Starts the process again on the same gRPC port (after `kill` or `stop`). */
  start(): Promise<void>;
  /** SIGKILL: no goodbye to anyone. */
  kill(): Promise<void>;
  /** SIGTERM; answers the exit code and how long the exit took. */
  stop(): Promise<{ code: number | string; ms: number }>;
}

/** Options of {@link startReplicaFleet}. */
export interface ReplicaFleetOptions {
  /** Replica names, e.g. ["a", "b", "c"]. */
  readonly names: readonly string[];
  /** Extra peers per replica name, beyond the others (e.g. its own URL, or a dead address). */
  readonly extraPeers?: Readonly<Record<string, (ownUrl: string) => readonly string[]>>;
  /** Environment for every replica. */
  readonly env?: Record<string, string>;
  /** More environment for one replica, by name (applied after `env`). */
  readonly envOf?: Readonly<Record<string, Record<string, string>>>;
  /**
   * A replica's CACHE_STORE_PEERS instead of the others' URLs, given every
   * replica's URL by name (e.g. to make two replicas disagree on membership).
   */
  readonly peersOf?: Readonly<Record<string, (urls: Readonly<Record<string, string>>) => readonly string[]>>;
  /** Put a counting proxy between the replicas and s3rver (`fleet.proxy`, `fleet.s3Gets`). */
  readonly countS3?: boolean;
}

/** The fleet, s3rver, and direct access to storage. */
export interface ReplicaFleet {
  readonly s3: S3Server;
  /** The counting proxy in front of s3rver, with `countS3`. */
  readonly proxy: CountingProxy | undefined;
  /** S3 GETs of `default/<key>` the proxy saw (with `countS3`). */
  s3Gets(key: string): number;
  readonly replicas: readonly Replica[];
  /** Stores an object straight into s3rver, past every replica. */
  seed(key: string, body: string): Promise<void>;
  /** Stops every replica still running (SIGTERM) and s3rver; answers each exit. */
  close(): Promise<{ name: string; code: number | string; ms: number }[]>;
}

/** Starts s3rver and one process per name, each a peer of the others. */
export async function startReplicaFleet(options: ReplicaFleetOptions): Promise<ReplicaFleet> {
  const s3 = await startS3Server({ buckets: ["default"] });
  const proxy = options.countS3 ? await startCountingProxy(s3.endpoint) : undefined;
  const ports = await Promise.all(options.names.map(() => freePort()));
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const replicas: Replica[] = [];
  try {
    for (const [i, name] of options.names.entries()) {
      const byName = Object.fromEntries(options.names.map((n, j) => [n, urls[j]!]));
      const peers = options.peersOf?.[name]?.(byName) ?? [
        ...urls.filter((_, j) => j !== i),
        ...(options.extraPeers?.[name]?.(urls[i]!) ?? []),
      ];
      const env = {
        S3_ENDPOINT: proxy?.url ?? s3.endpoint,
        S3_ACCESS_KEY: s3.accessKeyId,
        S3_SECRET_KEY: s3.secretAccessKey,
        CACHE_STORE_HOST: "127.0.0.1",
        CACHE_STORE_PORT: String(ports[i]),
        CACHE_STORE_PEERS: peers.join(","),
        ...options.env,
        ...options.envOf?.[name],
      };
      replicas.push(await startReplica(name, urls[i]!, ports[i]!, env));
    }
  } catch (err) {
    await Promise.all(replicas.map((r) => r.kill()));
    await proxy?.close();
    await s3.close();
    throw err;
  }
  const direct = directS3Client(s3);
  return {
    s3,
    proxy,
    s3Gets: (key) => proxy?.count("GET", `/default/${key.split("/").map(encodeURIComponent).join("/")}`) ?? 0,
    replicas,
    async seed(key, body) {
      await direct.send(new PutObjectCommand({ Bucket: "default", Key: key, Body: body }));
      const out = await direct.send(new GetObjectCommand({ Bucket: "default", Key: key }));
      if ((await out.Body!.transformToString()) !== body)
        throw new Error(`s3rver does not serve what was seeded at ${key}`);
    },
    async close() {
      const exits = await Promise.all(replicas.map(async (r) => ({ name: r.name, ...(await r.stop()) })));
      direct.destroy();
      await proxy?.close();
      await s3.close();
      return exits;
    },
  };
}

async function startReplica(
  name: string,
  url: string,
  grpcPort: number,
  env: Record<string, string>,
): Promise<Replica> {
  let running: ServiceProcess;
  let client: CacheClient;
  let health: GrpcClient<typeof healthV1.Health>;
  let exited: { code: number | string; ms: number } | undefined;
  const open = async (): Promise<void> => {
    running = await startServiceProcess("cache-store", { env });
    exited = undefined;
    // Own channels, so that a restart is not hidden behind a shared subchannel.
    client = createGrpcClient(cacheV1.CacheService, running.grpcAddress, { "grpc.use_local_subchannel_pool": 1 });
    health = createGrpcClient(healthV1.Health, running.grpcAddress, { "grpc.use_local_subchannel_pool": 1 });
  };
  const closeClients = (): void => {
    client.close();
    health.close();
  };
  await open();
  return {
    name,
    url,
    grpcPort,
    get process() {
      return running;
    },
    get client() {
      return client;
    },
    get health() {
      return health;
    },
    start: open,
    async kill() {
      if (exited !== undefined) return;
      closeClients();
      const started = performance.now();
      const code = await running.stop("SIGKILL");
      exited = { code, ms: performance.now() - started };
    },
    async stop() {
      if (exited !== undefined) return exited;
      closeClients();
      const started = performance.now();
      const code = await running.stop("SIGTERM");
      exited = { code, ms: performance.now() - started };
      return exited;
    },
  };
}

/** A replica's /metrics text. */
export async function metricsOf(replica: Replica): Promise<string> {
  return (await fetch(`${replica.process.httpUrl}/metrics`)).text();
}

/** True when no process with this pid exists any more. */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
