import * as path from "node:path";

/** The ports of the dev stack (etcd's only used with several coordinators). */
export interface DevPorts {
  /** Embedded S3 (s3rver) HTTP port. */
  readonly s3: number;
  /** breaker-coordinator gRPC port. */
  readonly coordinatorGrpc: number;
  /** breaker-coordinator HTTP/1.1 port (Connect, /metrics, /healthz). */
  readonly coordinatorHttp: number;
  /** cache-store gRPC port. */
  readonly cacheStoreGrpc: number;
  /** cache-store HTTP/1.1 port (Connect, /metrics, /healthz). */
  readonly cacheStoreHttp: number;
  /** gateway HTTP/1.1 port (object API, /metrics, /healthz). */
  readonly gateway: number;
  /** etcd's client port, with BW_DEV_COORDINATORS above 1. */
  readonly etcdClient: number;
  /** etcd's peer port, with BW_DEV_COORDINATORS above 1. */
  readonly etcdPeer: number;
}

/** The most coordinator replicas `BW_DEV_COORDINATORS` may ask for. */
export const maxDevCoordinators = 9;

/**
 * The gRPC and HTTP ports of coordinator replica `index` (0-based): the
 * first on COORDINATOR_PORT / COORDINATOR_HTTP_PORT, each next 10 above.
 */
export function coordinatorPorts(ports: DevPorts, index: number): { grpc: number; http: number } {
  return { grpc: ports.coordinatorGrpc + 10 * index, http: ports.coordinatorHttp + 10 * index };
}

/** pino's level names, lowest last. */
export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

/** Everything `npm start` needs to know, read once from the environment. */
export interface DevConfig {
  readonly ports: DevPorts;
  /** Where s3rver keeps objects (`<dataDir>/s3`) and the coordinator its snapshot. */
  readonly dataDir: string;
  /** The bucket created in the embedded S3. */
  readonly bucket: string;
  /** How long each service may take to answer /healthz with 200. */
  readonly startTimeoutMs: number;
  /** How long a service may take to exit after SIGTERM before it is killed. */
  readonly stopGraceMs: number;
  /** Lines of the services' logs below this level are not shown. */
  readonly logLevel: LogLevel;
  /**
   * BW_DEV_COORDINATORS: 1 (the default) is the single coordinator with its
   * state file; more start a local one-node etcd and that many replicas on it.
   */
  readonly coordinators: number;
  /** BW_DEV_TLS: every port under mTLS with tokens, from a throwaway CA under `<dataDir>/secure` (dev-secrets.ts). */
  readonly secure: boolean;
}

/** The variable that moves a port, per port, and its offset from BW_DEV_BASE_PORT. */
export const portVariables: Readonly<
  Record<keyof DevPorts, { readonly name: string; readonly defaultPort: number; readonly offset: number }>
> = {
  s3: { name: "BW_DEV_S3_PORT", defaultPort: 9000, offset: 0 },
  coordinatorGrpc: { name: "COORDINATOR_PORT", defaultPort: 50052, offset: 1 },
  coordinatorHttp: { name: "COORDINATOR_HTTP_PORT", defaultPort: 9452, offset: 2 },
  cacheStoreGrpc: { name: "CACHE_STORE_PORT", defaultPort: 50051, offset: 3 },
  cacheStoreHttp: { name: "CACHE_STORE_HTTP_PORT", defaultPort: 9451, offset: 4 },
  gateway: { name: "GATEWAY_PORT", defaultPort: 8080, offset: 5 },
  etcdClient: { name: "BW_DEV_ETCD_PORT", defaultPort: 2379, offset: 6 },
  etcdPeer: { name: "BW_DEV_ETCD_PEER_PORT", defaultPort: 2380, offset: 7 },
};

/** Every problem found in the dev stack's environment, one line each. */
export class DevConfigError extends Error {
  override readonly name = "DevConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/**
 * Reads the dev stack's configuration. A port comes from its own variable
 * (the same name the app reads, so `GATEWAY_PORT=8081 npm start` works), else
 * from `BW_DEV_BASE_PORT` plus a fixed offset (tests start a whole stack on
 * six free ports that way), else the default of design.md. Relative paths
 * resolve against the repository root.
 */
export function loadDevConfig(env: Readonly<Record<string, string | undefined>>, repoRoot: string): DevConfig {
  const problems: string[] = [];
  const base = readInt(env, "BW_DEV_BASE_PORT", 1, 65535 - 7, problems);
  const ports = {} as Record<keyof DevPorts, number>;
  for (const [key, v] of Object.entries(portVariables) as [keyof DevPorts, (typeof portVariables)[keyof DevPorts]][]) {
    ports[key] = readInt(env, v.name, 1, 65535, problems) ?? (base === undefined ? v.defaultPort : base + v.offset);
  }
  const coordinators = readInt(env, "BW_DEV_COORDINATORS", 1, maxDevCoordinators, problems) ?? 1;
  const secureRaw = (env["BW_DEV_TLS"] ?? "").trim().toLowerCase();
  if (!["", "0", "1", "true", "false"].includes(secureRaw))
    problems.push(`BW_DEV_TLS=${JSON.stringify(env["BW_DEV_TLS"])}: must be 1 or 0`);
  const secure = secureRaw === "1" || secureRaw === "true";
  const seen = new Map<number, string>();
  const claim = (port: number, name: string): void => {
    const other = seen.get(port);
    if (other !== undefined) problems.push(`port ${port} is given to both ${other} and ${name}`);
    else seen.set(port, name);
  };
  for (const [key, port] of Object.entries(ports)) claim(port, portVariables[key as keyof DevPorts].name);
  for (let i = 1; i < coordinators; i++) {
    const { grpc, http } = coordinatorPorts(ports, i);
    if (Math.max(grpc, http) > 65535)
      problems.push(`coordinator replica ${i + 1}'s ports ${grpc}, ${http} exceed 65535`);
    claim(grpc, `coordinator replica ${i + 1}'s gRPC port`);
    claim(http, `coordinator replica ${i + 1}'s HTTP port`);
  }
  const logLevel = (env["LOG_LEVEL"] || "info") as LogLevel;
  if (!logLevels.includes(logLevel))
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)}: must be one of ${logLevels.join(", ")}`);
  const startTimeoutMs = readInt(env, "BW_DEV_START_TIMEOUT_MS", 1, 3_600_000, problems) ?? 30_000;
  const stopGraceMs = readInt(env, "BW_DEV_STOP_GRACE_MS", 0, 3_600_000, problems) ?? 15_000;
  if (problems.length > 0) throw new DevConfigError(problems);
  return Object.freeze({
    ports: Object.freeze(ports),
    dataDir: path.resolve(repoRoot, env["BW_DEV_DATA_DIR"] || ".data"),
    bucket: "default",
    startTimeoutMs,
    stopGraceMs,
    logLevel,
    coordinators,
    secure,
  });
}

function readInt(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  min: number,
  max: number,
  problems: string[],
): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) {
    problems.push(`${name}=${JSON.stringify(raw)}: must be a whole number between ${min} and ${max}`);
    return undefined;
  }
  return n;
}
