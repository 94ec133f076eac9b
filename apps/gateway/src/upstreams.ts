import type { BreakerClient } from "@breakwater/breaker/session";
import { createReplicaPool, replicaBreakerName, type Replica, type ReplicaPool } from "@breakwater/fleet-kit";

/** One cache-store the gateway can call. */
export type Upstream = Replica;

/** The gateway's cache-store upstreams (CACHE_STORE_URLS): fleet-kit's replica pool. */
export type UpstreamPool = ReplicaPool;

/** The breaker name of a cache-store upstream (design.md "Breakers"). */
export const upstreamBreakerName = replicaBreakerName;

/** Opens a grpc-js channel to each cache-store; with `breakers`, each behind its coordinated breaker. */
export function createUpstreamPool(urls: readonly string[], breakers?: BreakerClient): UpstreamPool {
  return createReplicaPool(urls, { breakers });
}
