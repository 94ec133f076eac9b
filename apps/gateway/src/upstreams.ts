import { connectivityState } from "@grpc/grpc-js";
import type { BreakerClient } from "@breakwater/breaker/session";
import {
  createReplicaPool,
  replicaBreakerName,
  type Replica,
  type ReplicaPool,
  type RoutedReplica,
} from "@breakwater/fleet-kit";

/** One cache-store the gateway can call. */
export type Upstream = Replica;

/** The gateway's cache-store upstreams (CACHE_STORE_URLS): fleet-kit's replica pool. */
export type UpstreamPool = ReplicaPool;

/** GATEWAY_ROUTING: a key's calls go to its owner replica, or round robin. */
export type Routing = "owner" | "round-robin";

/** How an object call reached its replica (gateway_upstream_requests_total's `route`). */
export type UpstreamRoute = "owner" | "fallback" | "round-robin";

/** The breaker name of a cache-store upstream (design.md "Breakers"). */
export const upstreamBreakerName = replicaBreakerName;

/** Opens a grpc-js channel to each cache-store; with `breakers`, each behind its coordinated breaker. */
export function createUpstreamPool(urls: readonly string[], breakers?: BreakerClient): UpstreamPool {
  return createReplicaPool(urls, { breakers });
}

/**
 * The upstreams a call on `bucket/key` may go to, in the order to try them:
 * with owner routing the key's owner then its fallbacks (rendezvous hashing,
 * so every gateway and replica agrees, and each replica caches the keys it
 * owns), else round robin, one pick per upstream. Only those whose breaker
 * admits the call; the first `next()` throws UNAVAILABLE when none does.
 */
export function upstreamsFor(pool: UpstreamPool, routing: Routing, bucket: string, key: string) {
  return routing === "owner" ? pool.order(bucket, key) : roundRobin(pool);
}

function* roundRobin(pool: UpstreamPool): Generator<RoutedReplica> {
  yield pool.pick(); // throws when every breaker refuses
  for (let i = 1; i < pool.all.length; i++) {
    let next: RoutedReplica;
    try {
      next = pool.pick();
    } catch {
      return; // the rest refuse now: the caller has its first failure to answer with
    }
    yield next;
  }
}

/** The metrics label of a call that went to `upstream`. */
export function routeOf(upstream: RoutedReplica, routing: Routing): UpstreamRoute {
  if (routing === "round-robin") return "round-robin";
  return upstream.owner ? "owner" : "fallback";
}

/** Whether a call's channel got a connection while the call ran: a write is retried elsewhere only if not. */
export interface ConnectWatch {
  /** Resolves once the channel is connected (at once when it already was); never rejects. */
  readonly connected: Promise<void>;
  /** True once the channel has been seen connected since the watch began. */
  wasConnected(): boolean;
  /** Stops watching (call when the call has settled). */
  stop(): void;
}

/**
 * Watches `upstream`'s channel from now on. A call on a channel that never
 * connected (refused, unreachable) failed before the cache-store could read
 * a byte of it, so a write may go to the next replica; once connected, it
 * may not (the replica may have acted on it).
 */
export function watchConnect(upstream: Upstream): ConnectWatch {
  const channel = upstream.cache.channel.getChannel();
  let state = channel.getConnectivityState(true);
  let connected = state === connectivityState.READY;
  let stopped = false;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const watch = (): void => {
    if (connected) return resolve();
    if (state === connectivityState.SHUTDOWN) return; // the pool closed it
    channel.watchConnectivityState(state, Infinity, () => {
      state = channel.getConnectivityState(false);
      if (state === connectivityState.READY) connected = true;
      if (connected || !stopped) watch();
    });
  };
  watch();
  return {
    connected: done,
    wasConnected: () => connected,
    stop: () => void (stopped = true),
  };
}
