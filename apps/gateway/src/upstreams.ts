import { cacheV1, healthV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";

/** One cache-store the gateway can call. */
export interface Upstream {
  readonly url: string;
  readonly cache: GrpcClient<typeof cacheV1.CacheService>;
  readonly health: GrpcClient<typeof healthV1.Health>;
}

/** The gateway's cache-store upstreams (CACHE_STORE_URLS). */
export interface UpstreamPool {
  readonly all: readonly Upstream[];
  /** The upstream for the next request: round robin. */
  pick(): Upstream;
  /** True when at least one upstream answers its health check SERVING. */
  ready(): Promise<boolean>;
  close(): void;
}

/** Opens a grpc-js channel to each cache-store. */
export function createUpstreamPool(urls: readonly string[]): UpstreamPool {
  const all = urls.map((url) => {
    // One channel serves both clients: grpc-js shares subchannels per target.
    const cache = createGrpcClient(cacheV1.CacheService, url, {
      "grpc.max_receive_message_length": 8 * 1024 * 1024,
      // HTTP/2 pings while calls are open: a cache-store that vanished without
      // closing the connection still breaks the invalidation stream (in ~15 s).
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
    });
    const health = createGrpcClient(healthV1.Health, url);
    return { url, cache, health };
  });
  let next = 0;
  return {
    all,
    pick: () => all[next++ % all.length]!,
    async ready() {
      const checks = all.map((u) =>
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
