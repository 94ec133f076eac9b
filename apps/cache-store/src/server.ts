import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { createMetricsRegistry, createServiceServer, type Logger, type ServiceServer } from "@breakwater/server-kit";
import { createObjectCache, systemClock, type ObjectStorage } from "@breakwater/cache";
import { createS3Storage } from "@breakwater/cache/s3";
import { s3EndpointUrl, type CacheStoreConfig } from "./config.js";
import { cacheService } from "./cache-service.js";
import { createCacheMetrics } from "./cache-metrics.js";
import { createTimedStorage } from "./timed-storage.js";
import { breakerHookOf, breakerStatuses, startStorageBreaker } from "./storage-breaker.js";

/** What `build` needs besides config. */
export interface CacheStoreDeps {
  readonly logger: Logger;
  /** Storage to use instead of the S3 client built from config (tests, benchmarks). */
  readonly storage?: ObjectStorage;
}

/**
 * Builds the cache-store: CacheService over a byte-bounded object cache in
 * front of S3. Nothing listens until `listen()`; the sweep starts then too.
 */
export function build(config: CacheStoreConfig, deps: CacheStoreDeps): ServiceServer {
  const logger = deps.logger;
  const s3 =
    deps.storage === undefined
      ? createS3Storage({
          endpoint: s3EndpointUrl(config),
          region: config.S3_REGION,
          credentials: { accessKeyId: config.S3_ACCESS_KEY, secretAccessKey: config.S3_SECRET_KEY },
          requestTimeoutMs: config.S3_REQUEST_TIMEOUT,
        })
      : undefined;
  // Made here rather than by the server kit: the storage timings register in it before the server exists.
  const registry = createMetricsRegistry("cache-store");
  const storage = createTimedStorage(deps.storage ?? s3!, registry);
  // Every storage call goes through the fleet's breaker for this backend (design.md "Breakers").
  const breakers = startStorageBreaker({
    coordinatorUrl: config.COORDINATOR_URL,
    backend: storage.backend,
    address: `${hostname()}:${config.CACHE_STORE_PORT}`,
    config: config.breakerConfig,
    logger,
  });
  const cache = createObjectCache({
    storage,
    breaker: breakerHookOf(breakers.breaker),
    clock: systemClock,
    ttlMs: config.CACHE_TTL,
    maxStaleMs: config.CACHE_MAX_STALE,
    negativeTtlMs: config.CACHE_NEGATIVE_TTL,
    maxBytes: config.CACHE_MAX_BYTES,
    maxObjectBytes: config.CACHE_MAX_OBJECT_BYTES,
    events: { onStale: (info) => logger.warn(info, "served a stale copy: storage failed or its breaker is open") },
  });
  const shutdownController = new AbortController();
  const server = createServiceServer({
    name: "cache-store",
    shutdownController,
    services: [
      cacheService({
        cache,
        maxPutBytes: config.MAX_PUT_BYTES,
        replicaId: randomUUID(),
        breakers: () => breakerStatuses(breakers.client),
        shutdown: shutdownController.signal,
      }),
    ],
    logger,
    grpcPort: config.CACHE_STORE_PORT,
    httpPort: config.CACHE_STORE_HTTP_PORT,
    host: config.CACHE_STORE_HOST,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    registry,
  });
  createCacheMetrics(server.registry, cache);
  const sweep = setInterval(() => {
    const dropped = cache.sweep();
    if (dropped > 0) logger.debug({ dropped }, "sweep dropped entries past max stale");
  }, config.CACHE_CLEANUP_INTERVAL);
  sweep.unref();
  server.onClose({ close: () => clearInterval(sweep) });
  if (s3) server.onClose(s3);
  server.onClose(breakers.client);
  logger.info({ backend: storage.backend }, "storage configured");
  return server;
}

export { loadCacheStoreConfig, cacheStoreConfigSchema, type CacheStoreConfig } from "./config.js";
