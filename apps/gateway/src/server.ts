import type * as http from "node:http";
import {
  createMetricsRegistry,
  drainableHttp,
  grpcTarget,
  PortInUseError,
  shutDown,
  startTransportSecurity,
  type Logger,
} from "@breakwater/server-kit";
import type { GatewayConfig } from "./config.js";
import {
  createBreakerSession,
  createInvalidationFollower,
  createMembership,
  type InvalidationFollower,
  type InvalidationSource,
} from "@breakwater/fleet-kit";
import { createUpstreamPool, upstreamBreakerName, type UpstreamPool } from "./upstreams.js";
import { createObjectRoutes } from "./object-routes.js";
import { createRateLimits, rateLimitOf } from "./rate-limits.js";
import { createGatewayMetrics, registerMembersGauge } from "./gateway-metrics.js";
import { createRouter } from "./router.js";
import { createAdmission } from "./admission.js";
import { createHardenedServer } from "./http-hardening.js";
import { createNearCache, type NearCache } from "./near-cache.js";
import { traceObjectRequests } from "./traced-object-requests.js";

/** What `build` needs besides config. */
export interface GatewayDeps {
  readonly logger: Logger;
  /** Upstreams to use instead of dialing CACHE_STORE_URLS (tests). */
  readonly upstreams?: UpstreamPool;
  /** Milliseconds for the near-cache's TTL; `performance.now` unless given (tests). */
  readonly clock?: () => number;
}

/** The gateway, built but not listening. */
export interface Gateway {
  readonly server: http.Server;
  /** The near-cache, when GATEWAY_CACHE_MAX_BYTES is above 0. */
  readonly nearCache: NearCache | undefined;
  /** Starts the breaker session and the invalidation streams, then listens. */
  listen(): Promise<{ port: number }>;
  shutdown(): Promise<void>;
}

/**
 * Builds the gateway (its composition root): the HTTP/1.1 object API for
 * legacy clients in front of CacheService, with /healthz, /readyz and
 * /metrics. Nothing listens until `listen()`; `shutdown()` is server-kit's
 * ordered shutdown (not ready, drain delay, stop accepting, drain, close).
 */
export function build(config: GatewayConfig, deps: GatewayDeps): Gateway {
  const logger = deps.logger;
  // Before any client is made: cache-stores and the coordinator are dialled with the process's TLS.
  const security = startTransportSecurity(config.tls, logger);
  const registry = createMetricsRegistry("gateway");
  // Each cache-store upstream sits behind its own coordinated breaker (design.md "Gateway").
  const breakers =
    deps.upstreams === undefined
      ? createBreakerSession({
          coordinatorUrls: config.COORDINATOR_URL,
          service: "gateway",
          address: `${config.GATEWAY_HOST}:${config.GATEWAY_PORT}`,
          breakers: config.CACHE_STORE_URLS.map(upstreamBreakerName),
          config: config.breakerConfig,
          logger,
          registry,
          gauge: { name: "gateway_upstream_breaker_state", help: "Upstream breaker state as this gateway applies it" },
        })
      : undefined;
  // The cache-stores keys are owned by: CACHE_STORE_URLS, and the coordinator's live members when asked.
  const membership = breakers
    ? createMembership({
        static: config.CACHE_STORE_URLS,
        fromCoordinator: config.CACHE_STORE_MEMBERSHIP === "coordinator" ? breakers : undefined,
      })
    : undefined;
  const urlOf = new Map(config.CACHE_STORE_URLS.map((url) => [grpcTarget(url), url]));
  const urlsOf = (names: readonly string[]) => names.map((name) => urlOf.get(name) ?? name);
  const upstreams =
    deps.upstreams ?? createUpstreamPool(urlsOf(membership?.members() ?? config.CACHE_STORE_URLS), breakers);
  const { nearCache, subscriber } = buildNearCache(config, deps, upstreams);
  // A cache-store that joins or leaves takes or gives up its keys with no restart: its breaker first, so
  // that the pool finds it, then the pool (ownership), then its invalidation stream.
  membership?.onChange((names) => {
    const urls = urlsOf(names);
    breakers!.addBreakers(urls.map(upstreamBreakerName));
    upstreams.setMembers(urls);
    subscriber?.setSources(invalidationSources(upstreams));
    logger.info({ upstreams: urls }, "cache-store members changed: keys are owned anew");
  });
  const metrics = createGatewayMetrics(
    registry,
    nearCache && subscriber ? { stats: () => nearCache.stats(), streams: () => subscriber.streams() } : undefined,
  );
  registerMembersGauge(registry, () => upstreams.all.length);
  const objects = createObjectRoutes({
    upstreams,
    routing: config.GATEWAY_ROUTING,
    onUpstreamCall: (route) => metrics.upstreamCall(route),
    maxPutBytes: config.MAX_PUT_BYTES,
    upstreamTimeoutMs: config.UPSTREAM_TIMEOUT,
    access: config.access,
    rateLimits: createRateLimits({
      requests: rateLimitOf(config.GATEWAY_RATE_LIMIT, config.GATEWAY_RATE_BURST),
      prefixPurges: rateLimitOf(config.GATEWAY_PURGE_PREFIX_RATE_LIMIT, config.GATEWAY_PURGE_PREFIX_BURST),
      clock: deps.clock ?? (() => performance.now()),
    }),
    nearCache,
    logger,
  });
  let shuttingDown = false;
  const router = createRouter({
    objects: config.GATEWAY_TRACE_HOOKS ? traceObjectRequests(objects) : objects,
    upstreams,
    nearCache,
    registry,
    shuttingDown: () => shuttingDown,
    logger,
  });
  const admission = createAdmission({ maxConcurrent: config.GATEWAY_MAX_CONCURRENT_REQUESTS, metrics, router });
  const server = createHardenedServer(config, admission, (label) => metrics.clientError(label), security);
  let stopping = false;

  return {
    server,
    nearCache,
    listen: () =>
      new Promise((resolve, reject) => {
        breakers?.start();
        subscriber?.start();
        const onError = (err: NodeJS.ErrnoException): void =>
          reject(err.code === "EADDRINUSE" ? new PortInUseError(config.GATEWAY_PORT, "HTTP") : err);
        server.once("error", onError);
        server.listen(config.GATEWAY_PORT, config.GATEWAY_HOST, () => {
          server.off("error", onError);
          const port = (server.address() as { port: number }).port;
          logger.info(
            {
              port,
              upstreams: membership ? urlsOf(membership.members()) : config.CACHE_STORE_URLS,
              routing: config.GATEWAY_ROUTING,
              membership: config.CACHE_STORE_MEMBERSHIP,
              tls: security?.servesTls ? (security.settings.requireClientCert ? "mtls" : "tls") : "off",
            },
            "gateway listening",
          );
          resolve({ port });
        });
      }),
    async shutdown() {
      if (stopping) return;
      stopping = true;
      await shutDown({
        logger,
        notReady: () => (shuttingDown = true),
        drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
        servers: [drainableHttp(server)],
        graceMs: config.SHUTDOWN_GRACE_MS,
        // Closed in reverse: the invalidation streams, then the upstream channels, then the breakers.
        resources: [
          ...(security ? [security] : []),
          ...(breakers ? [breakers] : []),
          ...(membership ? [membership] : []),
          upstreams,
          ...(subscriber ? [{ close: () => subscriber.stop() }] : []),
        ],
      });
    },
  };
}

/** The near-cache and the invalidation streams that keep it coherent, unless configured off. */
function buildNearCache(
  config: GatewayConfig,
  deps: GatewayDeps,
  upstreams: UpstreamPool,
): { nearCache?: NearCache; subscriber?: InvalidationFollower } {
  if (config.GATEWAY_CACHE_MAX_BYTES === 0) return {};
  const logger = deps.logger;
  const nearCache = createNearCache({
    maxBytes: config.GATEWAY_CACHE_MAX_BYTES,
    maxObjectBytes: config.GATEWAY_CACHE_MAX_OBJECT_BYTES,
    ttlMs: config.GATEWAY_CACHE_TTL,
    clock: deps.clock ?? (() => performance.now()),
  });
  const subscriber = createInvalidationFollower({
    sources: invalidationSources(upstreams),
    onInvalidation: (_url, { bucket, key, prefix }) => nearCache.invalidate(bucket, key, prefix),
    onAllLiveChange: (live) => {
      if (live) nearCache.enable();
      else nearCache.disable(); // invalidations may be missed from now on: nothing old may be served
      logger.info(
        { live },
        live
          ? "near-cache on: every invalidation stream is live"
          : "near-cache off and emptied: an invalidation stream broke",
      );
    },
    backoff: { initialMs: config.GATEWAY_INVALIDATION_BACKOFF, maxMs: config.GATEWAY_INVALIDATION_MAX_BACKOFF },
    onLive: (url, replicaId) => logger.debug({ upstream: url, replicaId }, "invalidation stream live"),
    onDown: (url, err, retryInMs) => logger.warn({ upstream: url, err, retryInMs }, "invalidation stream broke"),
  });
  return { nearCache, subscriber };
}

/** Each upstream's WatchInvalidations stream, for the near-cache's follower. */
function invalidationSources(upstreams: UpstreamPool): InvalidationSource[] {
  return upstreams.all.map((u) => ({
    url: u.url,
    watch: (signal) => u.cache.watchInvalidations({ bucket: "" }, { signal }),
  }));
}

export { loadGatewayConfig, gatewayConfigSchema, type GatewayConfig } from "./config.js";
