import { healthV1 } from "@breakwater/proto";
import { createGrpcClient, grpcTarget, type GrpcClient } from "@breakwater/server-kit";
import { createCacheServiceClient, type CacheServiceClient } from "@breakwater/fleet-kit";
import type { BreakerClient, CoordinatedBreaker } from "@breakwater/breaker/session";
import { admittedClient, noUpstreamError } from "./upstream-breaker.js";

/** One cache-store the gateway can call. */
export interface Upstream {
  readonly url: string;
  /** Its breaker (`cache-store:<address>`), when breakers are in use. */
  readonly breaker?: CoordinatedBreaker | undefined;
  readonly cache: CacheServiceClient;
  readonly health: GrpcClient<typeof healthV1.Health>;
}

/** The gateway's cache-store upstreams (CACHE_STORE_URLS). */
export interface UpstreamPool {
  readonly all: readonly Upstream[];
  /**
   * The upstream for the next request: round robin over those whose breaker
   * admits the call; its `cache` client is good for that one call. Throws
   * UNAVAILABLE (with retry-after-ms) when every breaker refuses.
   */
  pick(): Upstream;
  /** True when at least one upstream answers its health check SERVING. */
  ready(): Promise<boolean>;
  close(): void;
}

/** The breaker name of a cache-store upstream (design.md "Breakers"). */
export function upstreamBreakerName(url: string): string {
  return `cache-store:${grpcTarget(url)}`;
}

/** Opens a grpc-js channel to each cache-store; with `breakers`, each behind its coordinated breaker. */
export function createUpstreamPool(urls: readonly string[], breakers?: BreakerClient): UpstreamPool {
  const all = urls.map((url) => {
    // A cache-store back after an outage gets its traffic (and the near-cache its stream) within 5 s.
    const cache = createCacheServiceClient(url, { reconnect: { initialMs: 100, maxMs: 5_000 } });
    const health = createGrpcClient(healthV1.Health, url);
    return { url, cache, health, breaker: breakers?.breaker(upstreamBreakerName(url)) };
  });
  let next = 0;
  return {
    all,
    pick() {
      if (breakers === undefined) return all[next++ % all.length]!;
      let retryAfterMs = Infinity;
      for (let tried = 0; tried < all.length; tried++) {
        const u = all[next++ % all.length]!;
        const admission = u.breaker!.admit();
        if (admission.allowed) return { ...u, cache: admittedClient(u.cache, u.breaker!, admission) };
        retryAfterMs = Math.min(retryAfterMs, admission.retryAfterMs);
      }
      throw noUpstreamError(Number.isFinite(retryAfterMs) ? retryAfterMs : 1000);
    },
    async ready() {
      // Ready when an upstream is SERVING and its breaker is not open.
      const checks = all
        .filter((u) => u.breaker?.state() !== "open")
        .map((u) =>
          u.health.check({ service: "breakwater.cache.v1.CacheService" }, { timeoutMs: 1000 }).then(
            (r) => r.status === healthV1.HealthCheckResponse_ServingStatus.SERVING,
            () => false,
          ),
        );
      return (await Promise.all(checks)).some(Boolean);
    },
    close() {
      for (const u of all) {
        u.cache.close();
        u.health.close();
      }
    },
  };
}
