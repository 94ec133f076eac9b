/**
 * The CacheService client of the services that call a cache-store (the
 * gateway's upstreams, a replica's peers): one grpc-js channel per
 * cache-store, tuned for the invalidation stream it carries.
 */
import type { ReconnectBackoff } from "@breakwater/breaker";
import { cacheV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { streamChannelOptions } from "./channel-presets.js";

/** A grpc-js CacheService client. */
export type CacheServiceClient = GrpcClient<typeof cacheV1.CacheService>;

/** Options of {@link createCacheServiceClient}. */
export interface CacheServiceClientOptions {
  /** grpc-js's reconnect backoff within the channel (its 120 s default would hold a stream down). */
  readonly reconnect: ReconnectBackoff;
}

/**
 * A CacheService client of the cache-store at `url`. Keepalive pings (10 s,
 * 5 s to answer) break a WatchInvalidations stream to a cache-store that
 * vanished without closing its connection in about 15 s; messages up to
 * 8 MiB pass (object chunks).
 */
export function createCacheServiceClient(url: string, options: CacheServiceClientOptions): CacheServiceClient {
  return createGrpcClient(
    cacheV1.CacheService,
    url,
    streamChannelOptions({
      keepaliveMs: 10_000,
      keepaliveTimeoutMs: 5_000,
      reconnect: options.reconnect,
      maxReceiveBytes: 8 * 1024 * 1024,
    }),
  );
}
