import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Registry } from "prom-client";
import { cacheV1 } from "@breakwater/proto";
import { createGrpcClient, createLogThrottle, createMetricsRegistry, createServiceServer, type Logger, type ServiceServer } from "@breakwater/server-kit";
import { createObjectCache, systemClock, type ObjectCache, type ObjectStorage, type StaleInfo } from "@breakwater/cache";
import { createS3Storage } from "@breakwater/cache/s3";
import { s3EndpointUrl, type CacheStoreConfig } from "./config.js";
import { cacheService } from "./cache-service.js";
import { toServiceError } from "./service-errors.js";
import { createCacheMetrics } from "./cache-metrics.js";
import { createTimedStorage } from "./timed-storage.js";
import { breakerHookOf, breakerStatuses, startStorageBreaker } from "./storage-breaker.js";
import { createPeerInvalidations, type PeerInvalidations } from "./peer-invalidations.js";
import { createPeerMetrics } from "./peer-metrics.js";

/** What `build` needs besides config. */
export interface CacheStoreDeps {
  readonly logger: Logger;
  /** Storage to use instead of the S3 client built from config (tests, benchmarks). */
  readonly storage?: ObjectStorage;
}

/**
 * Builds the cache-store: CacheService over a byte-bounded object cache in
 * front of S3. Nothing listens until `listen()`; the peers' invalidation
 * streams (CACHE_STORE_PEERS) open then too.
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
    events: { onStale: staleLogger(logger) },
  });
  const shutdownController = new AbortController();
  const replicaId = randomUUID();
  const server = createServiceServer({
    name: "cache-store",
    shutdownController,
    toServiceError,
    services: [
      cacheService({
        cache,
        maxPutBytes: config.MAX_PUT_BYTES,
        replicaId,
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
  // Closed first (resources close in reverse): after the drain, so that calls
  // still finishing are served with the peers' invalidations applied.
  const peers = followPeers(config, cache, replicaId, server.registry, logger);
  server.onClose(peers);
  logger.info({ backend: storage.backend, peers: config.CACHE_STORE_PEERS.length }, "storage configured");
  return {
    ...server,
    async listen() {
      const addresses = await server.listen();
      peers.start();
      return addresses;
    },
  };
}

/**
 * The other replicas' invalidations, applied here without republishing; each
 * (re)subscription expires the whole cache (kept for revalidation), since
 * invalidations may have been missed while a stream was down. A peer that is
 * down never makes this replica unhealthy: peers are optional.
 */
function followPeers(
  config: CacheStoreConfig,
  cache: ObjectCache,
  replicaId: string,
  registry: Registry,
  logger: Logger,
): Pick<PeerInvalidations, "start"> & { close(): Promise<void> } {
  const backoff = { initialMs: config.CACHE_STORE_PEER_BACKOFF, maxMs: config.CACHE_STORE_PEER_MAX_BACKOFF };
  const clients = config.CACHE_STORE_PEERS.map((url) => ({
    url,
    client: createGrpcClient(cacheV1.CacheService, url, {
      // HTTP/2 pings while the stream is open: a peer that vanished without
      // closing its connection still breaks the stream (in ~15 s).
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      // grpc-js's own reconnect backoff grows to 120 s by default: it would
      // hold the stream down long after the peer is back.
      "grpc.initial_reconnect_backoff_ms": backoff.initialMs,
      "grpc.max_reconnect_backoff_ms": backoff.maxMs,
    }),
  }));
  const metrics = createPeerMetrics(registry, config.CACHE_STORE_PEERS);
  const peers = createPeerInvalidations({
    peers: clients.map(({ url, client }) => ({ url, watch: (signal) => client.watchInvalidations({ bucket: "" }, { signal }) })),
    replicaId,
    apply: ({ bucket, key, prefix }) => void cache.invalidate(bucket, key, { prefix, publish: false }),
    resync: () => cache.expireAll(),
    backoff,
    events: {
      onLive: (peer, peerReplicaId, expiredEntries) => {
        metrics.onLive(peer, peerReplicaId, expiredEntries);
        logger.info({ peer, peerReplicaId, expiredEntries }, "peer invalidation stream live; entries cached meanwhile will be revalidated");
      },
      onDown: (peer, err, retryInMs, firstFailure) => {
        metrics.onDown(peer, err, retryInMs, firstFailure);
        // One warning per outage; the retries that follow are debug.
        logger[firstFailure ? "warn" : "debug"]({ peer, err, retryInMs }, "peer invalidation stream down");
      },
      onApplied: metrics.onApplied,
      onSelf: (peer) => {
        metrics.onSelf(peer);
        logger.info({ peer }, "CACHE_STORE_PEERS lists this replica itself: not following it");
      },
    },
  });
  return {
    start: () => peers.start(),
    async close() {
      await peers.stop();
      for (const { client } of clients) client.close();
    },
  };
}

/**
 * Logs stale answers, at most one line a second (with how many were held
 * back): during an outage every read of an expired key is one.
 */
function staleLogger(logger: Logger): (info: StaleInfo) => void {
  const throttle = createLogThrottle({ windowMs: 1_000 });
  return (info) => {
    const { write, suppressed } = throttle.admit("stale");
    if (write) logger.warn({ ...info, suppressed }, "served a stale copy: storage failed or its breaker is open");
  };
}

export { loadCacheStoreConfig, cacheStoreConfigSchema, type CacheStoreConfig } from "./config.js";
