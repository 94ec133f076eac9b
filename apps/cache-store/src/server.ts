import { randomUUID } from "node:crypto";
import {
  createLogThrottle,
  createMetricsRegistry,
  createServiceServer,
  grpcTarget,
  guardService,
  startTransportSecurity,
  type Logger,
  type ServiceRegistration,
  type ServiceServer,
} from "@breakwater/server-kit";
import { createObjectCache, systemClock, type ObjectStorage, type StaleInfo } from "@breakwater/cache";
import { createS3Storage } from "@breakwater/cache/s3";
import { advertisedAddress, s3EndpointUrl, type CacheStoreConfig } from "./config.js";
import { cacheService } from "./cache-service.js";
import { cacheServiceRules } from "./cache-access.js";
import { toServiceError } from "./service-errors.js";
import { createCacheMetrics } from "./cache-metrics.js";
import { createTimedStorage } from "./timed-storage.js";
import { createTracedStorage } from "./traced-storage.js";
import { context, propagation } from "@opentelemetry/api";
import { headerRecordSetter } from "@breakwater/tracing";
import {
  createBreakerSession,
  createMembership,
  createReplicaPool,
  replicaBreakerName,
  type Membership,
  type ReplicaPool,
} from "@breakwater/fleet-kit";
import { breakerHookOf, breakerStatuses } from "./storage-breaker.js";
import { createOwnerRouting, type OwnerRouting } from "./owner-routing.js";
import { followPeers } from "./peer-follower.js";
import type { BreakerClient } from "@breakwater/breaker/session";

/** What `build` needs besides config. */
export interface CacheStoreDeps {
  readonly logger: Logger;
  /** Storage to use instead of the S3 client built from config (tests, benchmarks). */
  readonly storage?: ObjectStorage;
}

/**
 * Builds the cache-store: CacheService over a byte-bounded object cache in
 * front of S3. Nothing listens until `listen()`; the breaker session with
 * the coordinator and the peers' invalidation streams (CACHE_STORE_PEERS)
 * open then too: building dials nothing.
 */
export function build(config: CacheStoreConfig, deps: CacheStoreDeps): ServiceServer {
  const logger = deps.logger;
  // Before any client is made: peers, owners and the coordinator are dialled with the process's TLS.
  const security = startTransportSecurity(config.tls, logger);
  const s3 =
    deps.storage === undefined
      ? createS3Storage({
          endpoint: s3EndpointUrl(config),
          region: config.S3_REGION,
          credentials: { accessKeyId: config.S3_ACCESS_KEY, secretAccessKey: config.S3_SECRET_KEY },
          requestTimeoutMs: config.S3_REQUEST_TIMEOUT,
          caCertificate: config.s3Ca,
          // The request's trace context (the storage span's) goes on to the store.
          addRequestHeaders: (headers) => propagation.inject(context.active(), headers, headerRecordSetter),
        })
      : undefined;
  // Made here rather than by the server kit: the storage timings register in it before the server exists.
  const registry = createMetricsRegistry("cache-store");
  const storage = createTimedStorage(createTracedStorage(deps.storage ?? s3!), registry);
  // Every storage call goes through the fleet's breaker for this backend (design.md "Breakers").
  // The session is made once the server is bound: its hello carries the address others dial
  // (the bound port, not a configured 0). No call is served before.
  let breakers: BreakerClient | undefined;
  // Besides storage's, the breakers of the other replicas this one forwards reads to (the gateway's names).
  const startBreakers = (address: string, owners: readonly string[]): BreakerClient =>
    createBreakerSession({
      coordinatorUrls: config.COORDINATOR_URL,
      service: "cache-store",
      address,
      breakers: [storage.backend, ...owners.map(replicaBreakerName)],
      config: config.breakerConfig,
      logger,
      registry,
      gauge: {
        name: "cache_storage_breaker_state",
        help: "Breaker state as this replica applies it: storage's, and each key owner's it forwards reads to",
      },
    });
  let storageHook: ReturnType<typeof breakerHookOf> | undefined;
  const hook = (): ReturnType<typeof breakerHookOf> =>
    (storageHook ??= breakerHookOf(breakers!.breaker(storage.backend)));
  const storageBreaker: ReturnType<typeof breakerHookOf> = {
    admit: () => hook().admit(),
    record: (admission, ok, durationMs) => hook().record(admission, ok, durationMs),
  };
  const cache = createObjectCache({
    storage,
    breaker: storageBreaker,
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
  let routing: OwnerRouting | undefined;
  let owners: ReplicaPool | undefined;
  const guardedWhenConfigured = (registration: ServiceRegistration): ServiceRegistration =>
    config.access.enabled
      ? guardService(registration, {
          access: config.access,
          rules: cacheServiceRules,
          onRefused: (method, refusal, reason) => logger.info({ method, refusal, reason }, "refused a call"),
          // A purge is an admin action: logged with who did it.
          onAdmitted: (method, caller, need) => {
            if (need.permission === "purge")
              logger.info({ method, who: caller.name, bucket: need.bucket, key: need.key }, "purge");
          },
        })
      : registration;
  const server = createServiceServer({
    name: "cache-store",
    shutdownController,
    toServiceError,
    services: [
      // Who may do what, on both ports; with nothing configured every call is let through unwrapped.
      guardedWhenConfigured(
        cacheService({
          cache,
          maxPutBytes: config.MAX_PUT_BYTES,
          replicaId,
          breakers: () => (breakers === undefined ? [] : breakerStatuses(breakers)),
          shutdown: shutdownController.signal,
          get routing() {
            return routing;
          },
        }),
      ),
    ],
    logger,
    grpcPort: config.CACHE_STORE_PORT,
    httpPort: config.CACHE_STORE_HTTP_PORT,
    host: config.CACHE_STORE_HOST,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    registry,
    security,
  });
  createCacheMetrics(server.registry, cache);
  const sweep = setInterval(() => {
    const dropped = cache.sweep();
    if (dropped > 0) logger.debug({ dropped }, "sweep dropped entries past max stale");
  }, config.CACHE_CLEANUP_INTERVAL);
  sweep.unref();
  server.onClose({ close: () => clearInterval(sweep) });
  if (s3) server.onClose(s3);
  server.onClose({ close: () => breakers?.close() });
  server.onClose({ close: () => owners?.close() });
  // Closed first (resources close in reverse): after the drain, so that calls
  // still finishing are served with the peers' invalidations applied.
  const peers = followPeers({
    peers: config.CACHE_STORE_PEERS,
    cache,
    replicaId,
    backoff: { initialMs: config.CACHE_STORE_PEER_BACKOFF, maxMs: config.CACHE_STORE_PEER_MAX_BACKOFF },
    registry: server.registry,
    logger,
    dropHot: (bucket, key, prefix) => routing?.dropHot(bucket, key, prefix),
    expireHot: () => routing?.expireHot(),
  });
  server.onClose(peers);
  let membership: Membership | undefined;
  server.onClose({ close: () => membership?.close() });
  logger.info({ backend: storage.backend, peers: config.CACHE_STORE_PEERS.length }, "storage configured");
  return {
    ...server,
    async listen() {
      const addresses = await server.listen();
      const self = advertisedAddress(config, addresses.grpcPort);
      // A member's URL as configured, or its name (host:port) when only the coordinator named it.
      const urlOf = new Map(config.CACHE_STORE_PEERS.map((url) => [grpcTarget(url), url]));
      const othersIn = (names: readonly string[]) => names.filter((n) => n !== self).map((n) => urlOf.get(n) ?? n);
      // The other members, to forward reads to (none when forwarding is off).
      const ownersIn = (names: readonly string[]) => (config.CACHE_STORE_FORWARDING ? othersIn(names) : []);
      if (urlOf.has(self))
        logger.info({ peer: urlOf.get(self) }, "CACHE_STORE_PEERS lists this replica itself: not following it");
      const staticMembers = [self, ...urlOf.keys()];
      breakers = startBreakers(self, [...new Set(ownersIn(staticMembers).map(grpcTarget))]);
      const joined = createMembership({
        static: config.CACHE_STORE_PEERS,
        self,
        fromCoordinator: config.CACHE_STORE_MEMBERSHIP === "coordinator" ? breakers : undefined,
      });
      membership = joined;
      owners = createReplicaPool(ownersIn(joined.members()), { breakers });
      const hotRouting = createOwnerRouting({
        self,
        pool: owners,
        hotMaxBytes: config.CACHE_HOT_MAX_BYTES,
        hotTtlMs: config.CACHE_HOT_TTL,
        hotMaxObjectBytes: config.CACHE_MAX_OBJECT_BYTES,
        invalidateTimeoutMs: config.CACHE_OWNER_INVALIDATE_TIMEOUT,
        registry: server.registry,
        logger,
      });
      // Writes and purges here drop this replica's hot copies too.
      cache.onInvalidation((inv) => hotRouting.dropHot(inv.bucket, inv.key, inv.prefix));
      routing = hotRouting;
      // A member that joins or leaves (the coordinator's list) moves keys with no restart: its breaker
      // first, so that the pool finds it, then the owners, then its invalidation stream.
      joined.onChange((names) => {
        const owning = ownersIn(names);
        breakers!.addBreakers(owning.map(replicaBreakerName));
        owners!.setMembers(owning);
        hotRouting.membersChanged();
        peers.setPeers(othersIn(names));
        logger.info({ self, members: hotRouting.members }, "members changed: keys are owned anew");
      });
      peers.setPeers(othersIn(joined.members()));
      logger.info(
        {
          self,
          members: routing.members,
          membership: config.CACHE_STORE_MEMBERSHIP,
          hotMaxBytes: config.CACHE_HOT_MAX_BYTES,
        },
        "key ownership",
      );
      breakers.start();
      peers.start();
      return addresses;
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
