import { commonConfig, env, loadConfig, type ConfigOf } from "@breakwater/server-kit";
import type { BreakerConfigSet } from "@breakwater/breaker";
import { breakerConfigEnv, loadBreakerConfig } from "@breakwater/breaker/session";

/** The cache-store's environment (design.md "Configuration and ports", "Cache rules"). */
export const cacheStoreConfigSchema = {
  ...commonConfig,
  ...breakerConfigEnv,
  CACHE_STORE_PORT: env.port(50051, "gRPC port (h2c): CacheService, reflection, health"),
  CACHE_STORE_HTTP_PORT: env.port(9451, "HTTP/1.1 port: Connect JSON, gRPC-Web, /metrics, /healthz"),
  CACHE_STORE_HOST: env.string("0.0.0.0", "address to bind"),
  S3_ENDPOINT: env.string("http://127.0.0.1:9000", "S3-compatible endpoint (scheme optional; see S3_USE_SSL)"),
  S3_ACCESS_KEY: env.string("minioadmin", "S3 access key id"),
  S3_SECRET_KEY: env.string("minioadmin", "S3 secret access key"),
  S3_USE_SSL: env.bool(false, "https when S3_ENDPOINT has no scheme"),
  S3_REGION: env.string("us-east-1", "S3 region"),
  S3_REQUEST_TIMEOUT: env.durationMs(30_000, "deadline of one S3 request (the transport's, not a timer per call)"),
  CACHE_TTL: env.durationMs(5 * 60_000, "age under which a cached object is served without asking storage"),
  CACHE_MAX_STALE: env.durationMs(60 * 60_000, "age under which an expired object may be revalidated or served stale"),
  CACHE_MAX_BYTES: env.bytes(100 * 1024 ** 2, "bound on the bytes of cached bodies"),
  CACHE_MAX_OBJECT_BYTES: env.bytes(8 * 1024 ** 2, "objects larger than this stream through uncached"),
  CACHE_NEGATIVE_TTL: env.durationMs(10_000, "how long a 404 is cached"),
  CACHE_CLEANUP_INTERVAL: env.durationMs(60_000, "period of the sweep that drops entries past max stale"),
  MAX_PUT_BYTES: env.bytes(5 * 1024 ** 4, "largest object a PutObject may store (RESOURCE_EXHAUSTED above)"),
};

export type CacheStoreConfig = ConfigOf<typeof cacheStoreConfigSchema> & {
  /** BREAKER_CONFIG, read and validated. */
  readonly breakerConfig: BreakerConfigSet;
};

/** Reads and validates the cache-store's environment and BREAKER_CONFIG; throws ConfigError listing every problem. */
export function loadCacheStoreConfig(vars: Readonly<Record<string, string | undefined>>): CacheStoreConfig {
  const config = loadConfig(cacheStoreConfigSchema, vars);
  return Object.freeze({ ...config, breakerConfig: loadBreakerConfig(config.BREAKER_CONFIG) });
}

/** The S3 endpoint as a URL: S3_ENDPOINT with its scheme, or one from S3_USE_SSL. */
export function s3EndpointUrl(config: CacheStoreConfig): string {
  const raw = config.S3_ENDPOINT.replace(/\/+$/, "");
  return /^https?:\/\//i.test(raw) ? raw : `${config.S3_USE_SSL ? "https" : "http"}://${raw}`;
}
