import {
  commonConfig,
  ConfigError,
  env,
  loadAccess,
  loadConfig,
  protectedModeProblem,
  securityConfig,
  tlsConfig,
  tlsSettingsOf,
  type Access,
  type ConfigField,
  type ConfigOf,
  type TlsSettings,
} from "@breakwater/server-kit";
import { readFileSync } from "node:fs";
import type { BreakerConfigSet } from "@breakwater/breaker";
import { breakerConfigEnv, loadBreakerConfig, membershipEnv } from "@breakwater/fleet-kit";

/** The cache-store's environment (design.md "Configuration and ports", "Cache rules"). */
export const cacheStoreConfigSchema = {
  ...commonConfig,
  ...tlsConfig,
  ...breakerConfigEnv,
  ...membershipEnv,
  ...securityConfig,
  CACHE_STORE_PORT: env.port(50051, "gRPC port (h2c): CacheService, reflection, health"),
  CACHE_STORE_HTTP_PORT: env.port(9451, "HTTP/1.1 port: Connect JSON, gRPC-Web, /metrics, /healthz"),
  CACHE_STORE_HOST: env.string(
    "127.0.0.1",
    "address to bind; another than loopback needs BW_TOKENS_FILE or TLS_CLIENT_AUTH=require, or BW_INSECURE=1",
  ),
  S3_ENDPOINT: env.string("http://127.0.0.1:9000", "S3-compatible endpoint (scheme optional; see S3_USE_SSL)"),
  S3_ACCESS_KEY: env.string("minioadmin", "S3 access key id"),
  S3_SECRET_KEY: env.string("minioadmin", "S3 secret access key"),
  S3_USE_SSL: env.bool(false, "https when S3_ENDPOINT has no scheme"),
  S3_REGION: env.string("us-east-1", "S3 region"),
  S3_CA_FILE: env.string(
    "",
    "PEM CA bundle trusted for an https S3_ENDPOINT, added to the system's roots (private CA)",
  ),
  S3_REQUEST_TIMEOUT: env.durationMs(30_000, "deadline of one S3 request (the transport's, not a timer per call)"),
  CACHE_TTL: env.durationMs(5 * 60_000, "age under which a cached object is served without asking storage"),
  CACHE_MAX_STALE: env.durationMs(60 * 60_000, "age under which an expired object may be revalidated or served stale"),
  CACHE_MAX_BYTES: env.bytes(100 * 1024 ** 2, "bound on the bytes of cached bodies"),
  CACHE_MAX_OBJECT_BYTES: env.bytes(8 * 1024 ** 2, "objects larger than this stream through uncached"),
  CACHE_NEGATIVE_TTL: env.durationMs(10_000, "how long a 404 is cached"),
  CACHE_CLEANUP_INTERVAL: env.durationMs(60_000, "period of the sweep that drops entries past max stale"),
  MAX_PUT_BYTES: env.bytes(5 * 1024 ** 4, "largest object a PutObject may store (RESOURCE_EXHAUSTED above)"),
  CACHE_STORE_PEERS: peerUrls(
    "comma-separated gRPC URLs (http://host:port, https:// for TLS) of the other replicas, " +
      "whose invalidations this one follows",
  ),
  CACHE_STORE_PEER_BACKOFF: env.durationMs(
    100,
    "first delay before resubscribing to a peer's broken invalidation stream (doubles each try, with jitter)",
  ),
  CACHE_STORE_PEER_MAX_BACKOFF: env.durationMs(5_000, "longest delay between resubscription attempts to a peer"),
  CACHE_STORE_ADVERTISE_ADDRESS: env.string(
    "",
    "this replica's name among the owners of keys: the host:port others dial (empty: 127.0.0.1:<bound port> " +
      "when bound to a wildcard or loopback address, else <CACHE_STORE_HOST>:<bound port>)",
  ),
  CACHE_STORE_FORWARDING: env.bool(
    true,
    "read keys another member (CACHE_STORE_PEERS) owns from their owner; false: every key is served here, " +
      "peers only for invalidations (the behaviour before ownership, for comparisons)",
  ),
  // Off unless asked for: a hot copy may serve a write through another replica a few ms late.
  CACHE_HOT_MAX_BYTES: env.bytes(
    0,
    "bound on the hot copies of keys this replica does not own but is asked for (0: off)",
  ),
  CACHE_HOT_TTL: env.durationMs(5_000, "how long a hot copy of a key owned by another replica is served"),
  CACHE_OWNER_INVALIDATE_TIMEOUT: env.durationMs(
    1_000,
    "deadline of the call that drops the owner's copy after a write through this replica (the write succeeds anyway)",
  ),
};

export type CacheStoreConfig = ConfigOf<typeof cacheStoreConfigSchema> & {
  /** BREAKER_CONFIG, read and validated. */
  readonly breakerConfig: BreakerConfigSet;
  /** The TLS variables, checked and their files read; undefined: plaintext. */
  readonly tls: TlsSettings | undefined;
  /** S3_CA_FILE's contents, when set. */
  readonly s3Ca: Buffer | undefined;
  /** Who may call CacheService for what: BW_TOKENS_FILE and BW_ADMIN_TOKEN, read and checked. */
  readonly access: Access;
};

/** Reads and validates the cache-store's environment and BREAKER_CONFIG; throws ConfigError listing every problem. */
export function loadCacheStoreConfig(vars: Readonly<Record<string, string | undefined>>): CacheStoreConfig {
  const config = loadConfig(cacheStoreConfigSchema, vars);
  const problems: string[] = [];
  if (config.CACHE_STORE_PEER_BACKOFF <= 0) problems.push("CACHE_STORE_PEER_BACKOFF must be above 0");
  if (config.CACHE_STORE_PEER_MAX_BACKOFF < config.CACHE_STORE_PEER_BACKOFF) {
    problems.push("CACHE_STORE_PEER_MAX_BACKOFF must not be below CACHE_STORE_PEER_BACKOFF");
  }
  problems.push(...crossFieldProblems(config));
  const tls = tlsSettingsOf(config, problems);
  const s3Ca = s3CaOf(config.S3_CA_FILE, problems);
  const exposed = protectedModeProblem("CACHE_STORE_HOST", config.CACHE_STORE_HOST, config, vars);
  if (exposed !== undefined) problems.push(exposed);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...config,
    breakerConfig: loadBreakerConfig(config.BREAKER_CONFIG),
    tls,
    s3Ca,
    access: loadAccess(config),
  });
}

/** S3_CA_FILE read once at start (the S3 client's agent is made once). */
function s3CaOf(path: string, problems: string[]): Buffer | undefined {
  if (path === "") return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    problems.push(`S3_CA_FILE=${JSON.stringify(path)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
    return undefined;
  }
}

/**
 * Rules the cache and the S3 adapter would otherwise enforce later, in their
 * constructors, as a RangeError and a stack: said here in the variables' names
 * so that the process exits 2 with every problem listed.
 */
function crossFieldProblems(config: ConfigOf<typeof cacheStoreConfigSchema>): string[] {
  const problems: string[] = [];
  if (config.CACHE_MAX_BYTES <= 0) problems.push("CACHE_MAX_BYTES must be above 0");
  if (config.CACHE_MAX_OBJECT_BYTES <= 0) problems.push("CACHE_MAX_OBJECT_BYTES must be above 0");
  if (config.CACHE_MAX_OBJECT_BYTES > config.CACHE_MAX_BYTES) {
    const [object, total] = [config.CACHE_MAX_OBJECT_BYTES, config.CACHE_MAX_BYTES];
    problems.push(`CACHE_MAX_OBJECT_BYTES (${object}) must not exceed CACHE_MAX_BYTES (${total})`);
  }
  if (config.CACHE_MAX_STALE < config.CACHE_TTL) {
    const [stale, ttl] = [config.CACHE_MAX_STALE, config.CACHE_TTL];
    problems.push(`CACHE_MAX_STALE (${stale} ms) must not be shorter than CACHE_TTL (${ttl} ms)`);
  }
  if (config.S3_REQUEST_TIMEOUT <= 0) problems.push("S3_REQUEST_TIMEOUT must be above 0");
  if (config.CACHE_HOT_MAX_BYTES > 0 && config.CACHE_HOT_TTL <= 0) {
    problems.push("CACHE_HOT_TTL must be above 0 while CACHE_HOT_MAX_BYTES is set");
  }
  if (config.CACHE_OWNER_INVALIDATE_TIMEOUT <= 0) problems.push("CACHE_OWNER_INVALIDATE_TIMEOUT must be above 0");
  const advertised = config.CACHE_STORE_ADVERTISE_ADDRESS;
  if (advertised !== "" && !/^[^/\s:@]+:\d{1,5}$|^\[[0-9a-f:.]+\]:\d{1,5}$/i.test(advertised)) {
    problems.push(`CACHE_STORE_ADVERTISE_ADDRESS (${JSON.stringify(advertised)}) must be host:port`);
  }
  const endpoint = s3EndpointUrlOf(config.S3_ENDPOINT, config.S3_USE_SSL);
  if (!URL.canParse(endpoint)) {
    problems.push(`S3_ENDPOINT (with S3_USE_SSL) gives ${JSON.stringify(endpoint)}, not a URL`);
  }
  if (config.CACHE_STORE_PORT !== 0 && config.CACHE_STORE_PORT === config.CACHE_STORE_HTTP_PORT) {
    problems.push(`CACHE_STORE_PORT and CACHE_STORE_HTTP_PORT must differ (both ${config.CACHE_STORE_PORT})`);
  }
  return problems;
}

/**
 * This replica's name among the owners of keys (docs/architecture.md
 * "Forwarding to the owner"): CACHE_STORE_ADVERTISE_ADDRESS, else the address
 * others dial to reach the bound gRPC port: 127.0.0.1 for a wildcard or
 * loopback bind (a single host, as in development and tests), the bound host
 * otherwise.
 */
export function advertisedAddress(config: CacheStoreConfig, grpcPort: number): string {
  if (config.CACHE_STORE_ADVERTISE_ADDRESS !== "") return config.CACHE_STORE_ADVERTISE_ADDRESS;
  const host = config.CACHE_STORE_HOST;
  const wildcardOrLoopback = ["", "0.0.0.0", "::", "[::]", "localhost", "::1", "[::1]"];
  const local = wildcardOrLoopback.includes(host.toLowerCase()) || host.startsWith("127.");
  if (local) return `127.0.0.1:${grpcPort}`;
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${grpcPort}` : `${host}:${grpcPort}`;
}

/** The S3 endpoint as a URL: S3_ENDPOINT with its scheme, or one from S3_USE_SSL. */
export function s3EndpointUrl(config: CacheStoreConfig): string {
  return s3EndpointUrlOf(config.S3_ENDPOINT, config.S3_USE_SSL);
}

function s3EndpointUrlOf(endpoint: string, useSsl: boolean): string {
  const raw = endpoint.replace(/\/+$/, "");
  return /^https?:\/\//i.test(raw) ? raw : `${useSsl ? "https" : "http"}://${raw}`;
}

/**
 * CACHE_STORE_PEERS: empty (the default) means no peers. Each entry must be
 * `http://host:port` with an explicit port: the peer client speaks plaintext
 * h2c like every breakwater gRPC client, and grpc-js would otherwise assume
 * port 443. Every bad entry is named.
 */
function peerUrls(describe: string): ConfigField<readonly string[]> {
  return {
    default: [],
    describe,
    parse(raw) {
      const urls = raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = urls.flatMap((url) => {
        const problem = peerUrlProblem(url);
        return problem === undefined ? [] : [`${url} (${problem})`];
      });
      if (bad.length > 0) throw new Error(`not http(s)://host:port: ${bad.join(", ")}`);
      const normalised = urls.map((u) => u.replace(/\/+$/, "").toLowerCase());
      const repeated = normalised.filter((u, i) => normalised.indexOf(u) !== i);
      if (repeated.length > 0) throw new Error(`listed more than once: ${[...new Set(repeated)].join(", ")}`);
      return Object.freeze(urls.map((u) => u.replace(/\/+$/, "")));
    },
  };
}

function peerUrlProblem(url: string): string | undefined {
  const m = /^https?:\/\/([^/?#@\s]+):(\d{1,5})\/?$/i.exec(url);
  if (m === null) return "expected http://host:port or https://host:port";
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return "port must be between 1 and 65535";
  try {
    new URL(url);
  } catch {
    return "invalid host";
  }
  return undefined;
}
