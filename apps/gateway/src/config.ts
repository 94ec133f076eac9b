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
import type { BreakerConfigSet } from "@breakwater/breaker";
import { breakerConfigEnv, loadBreakerConfig, membershipEnv } from "@breakwater/fleet-kit";
import { NEAR_CACHE_ENTRY_OVERHEAD } from "./near-cache.js";
import { parseRate } from "./rate-limits.js";

/**
 * The gateway's environment (design.md "Configuration and ports"): every
 * variable it reads, with its default and one line on what it does. Sizes take
 * "64MiB"-style units, durations "250ms"/"5s"/"1m" (plain numbers are bytes
 * and milliseconds). LOG_LEVEL, COORDINATOR_URL, SHUTDOWN_GRACE_MS and
 * SHUTDOWN_DRAIN_DELAY_MS come from server-kit's common set.
 */
export const gatewayConfigSchema = {
  ...commonConfig,
  ...tlsConfig,
  ...breakerConfigEnv,
  ...membershipEnv,
  ...securityConfig,
  GATEWAY_PORT: env.port(8080, "HTTP/1.1 port: the object API, /metrics, /healthz, /readyz"),
  GATEWAY_HOST: env.string(
    "127.0.0.1",
    "address to bind; another than loopback needs BW_TOKENS_FILE or TLS_CLIENT_AUTH=require, or BW_INSECURE=1",
  ),
  CACHE_STORE_URLS: env.urlList(
    ["http://127.0.0.1:50051"],
    "comma-separated cache-store gRPC addresses (http://host:port; https:// for TLS)",
  ),
  GATEWAY_ROUTING: env.oneOf(
    ["owner", "round-robin"],
    "owner",
    "owner: each key's calls go to its owner replica (rendezvous hashing), then its fallbacks; round-robin: spread",
  ),
  GATEWAY_TRACE_HOOKS: env.bool(
    true,
    "false: no tracing calls on the request path (the bench's baseline), no gateway spans even with OTEL_* set",
  ),
  MAX_PUT_BYTES: env.bytes(5 * 1024 ** 3, "largest accepted PUT body (413 above)"),
  UPSTREAM_TIMEOUT: env.durationMs(
    30_000,
    "deadline of a metadata call to a cache-store, of a GET's first message and of a PUT's wait for a connection",
  ),
  GATEWAY_ANONYMOUS_READ: env.bool(false, "with BW_TOKENS_FILE: GET and HEAD need no token"),
  GATEWAY_RATE_LIMIT: rate("object requests per caller (token, or client address without one): 100/s, 30/m; 0: off"),
  GATEWAY_RATE_BURST: env.int(0, "requests a caller may send at once over GATEWAY_RATE_LIMIT; 0: one second's worth"),
  GATEWAY_PURGE_PREFIX_RATE_LIMIT: rate("PURGE ?prefix=1 per caller, on top of GATEWAY_RATE_LIMIT: 10/m; 0: off"),
  GATEWAY_PURGE_PREFIX_BURST: env.int(0, "prefix purges a caller may send at once; 0: one second's worth (at least 1)"),
  GATEWAY_MAX_CONCURRENT_REQUESTS: env.int(1024, "requests served at once; more are answered 503", 1),
  GATEWAY_REQUEST_TIMEOUT: env.durationMs(
    300_000,
    "longest a whole request (headers and body) may take to arrive; 0: no limit",
  ),
  GATEWAY_HEADERS_TIMEOUT: env.durationMs(
    20_000,
    "longest the request headers may take to arrive (slowloris guard); at most GATEWAY_REQUEST_TIMEOUT",
  ),
  GATEWAY_KEEP_ALIVE_TIMEOUT: env.durationMs(5_000, "idle keep-alive connections are closed after this"),
  GATEWAY_MAX_HEADER_BYTES: env.bytes(16 * 1024, "largest request header block (431 above)"),
  GATEWAY_CACHE_MAX_BYTES: env.bytes(
    64 * 1024 ** 2,
    "bound on the bytes the gateway's near-cache holds; 0 turns the near-cache off",
  ),
  GATEWAY_CACHE_MAX_OBJECT_BYTES: env.bytes(256 * 1024, "only objects up to this size enter the near-cache"),
  GATEWAY_CACHE_TTL: env.durationMs(5_000, "longest a near-cache copy is served, a safety net behind invalidations"),
  GATEWAY_INVALIDATION_BACKOFF: env.durationMs(
    100,
    "first delay before resubscribing to a broken invalidation stream (doubles each try, with jitter)",
  ),
  GATEWAY_INVALIDATION_MAX_BACKOFF: env.durationMs(5_000, "longest delay between resubscription attempts"),
};

/** A per-caller rate ("100/s", "30/m", "600/h"); "0" (the default) is off. */
function rate(describe: string): ConfigField<number> {
  return { parse: parseRate, default: 0, describe };
}

export type GatewayConfig = ConfigOf<typeof gatewayConfigSchema> & {
  /** BREAKER_CONFIG, read and validated: the upstreams' breakers. */
  readonly breakerConfig: BreakerConfigSet;
  /** The TLS variables, checked and their files read; undefined: plaintext. */
  readonly tls: TlsSettings | undefined;
  /** Who may do what: BW_TOKENS_FILE, BW_ADMIN_TOKEN and GATEWAY_ANONYMOUS_READ, read and checked. */
  readonly access: Access;
};

/** Reads and validates the gateway's environment; throws ConfigError listing every problem. */
export function loadGatewayConfig(vars: Readonly<Record<string, string | undefined>>): GatewayConfig {
  const config = loadConfig(gatewayConfigSchema, vars);
  const problems: string[] = [];
  // node:http refuses to start otherwise (ERR_OUT_OF_RANGE); say so in config terms.
  if (config.GATEWAY_REQUEST_TIMEOUT > 0 && config.GATEWAY_HEADERS_TIMEOUT > config.GATEWAY_REQUEST_TIMEOUT) {
    problems.push("GATEWAY_HEADERS_TIMEOUT must not exceed GATEWAY_REQUEST_TIMEOUT");
  }
  if (config.GATEWAY_INVALIDATION_BACKOFF <= 0) problems.push("GATEWAY_INVALIDATION_BACKOFF must be above 0");
  if (config.GATEWAY_INVALIDATION_MAX_BACKOFF < config.GATEWAY_INVALIDATION_BACKOFF) {
    problems.push("GATEWAY_INVALIDATION_MAX_BACKOFF must not be below GATEWAY_INVALIDATION_BACKOFF");
  }
  if (config.GATEWAY_CACHE_TTL <= 0 && config.GATEWAY_CACHE_MAX_BYTES > 0)
    problems.push("GATEWAY_CACHE_TTL must be above 0");
  // The near-cache's constructor refuses a bound that cannot hold one entry's bookkeeping.
  if (config.GATEWAY_CACHE_MAX_BYTES > 0 && config.GATEWAY_CACHE_MAX_BYTES <= NEAR_CACHE_ENTRY_OVERHEAD) {
    problems.push(`GATEWAY_CACHE_MAX_BYTES must be 0 (near-cache off) or above ${NEAR_CACHE_ENTRY_OVERHEAD}`);
  }
  const tls = tlsSettingsOf(config, problems);
  const exposed = protectedModeProblem("GATEWAY_HOST", config.GATEWAY_HOST, config, vars);
  if (exposed !== undefined) problems.push(exposed);
  if (problems.length > 0) throw new ConfigError(problems);
  const access = loadAccess(config, config.GATEWAY_ANONYMOUS_READ ? [{ permission: "read" }] : []);
  return Object.freeze({ ...config, breakerConfig: loadBreakerConfig(config.BREAKER_CONFIG), tls, access });
}
