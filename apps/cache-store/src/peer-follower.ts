/**
 * The other replicas' invalidations, applied here without republishing; each
 * (re)subscription expires the whole cache (kept for revalidation), since
 * invalidations may have been missed while a stream was down. A peer that is
 * down never makes this replica unhealthy: peers are optional. The peers are
 * the fleet's members (CACHE_STORE_PEERS, and the coordinator's live members
 * under CACHE_STORE_MEMBERSHIP=coordinator): they change at run time.
 */
import type { Registry } from "prom-client";
import type { ObjectCache } from "@breakwater/cache";
import type { Logger } from "@breakwater/server-kit";
import { createCacheServiceClient, createInvalidationFollower, type CacheServiceClient } from "@breakwater/fleet-kit";
import type { ReconnectBackoff } from "@breakwater/breaker";
import { createPeerMetrics } from "./peer-metrics.js";

/** Options of {@link followPeers}. */
export interface PeerFollowerOptions {
  /** The peers at start, as URLs or `host:port`s. */
  readonly peers: readonly string[];
  readonly cache: ObjectCache;
  readonly replicaId: string;
  readonly backoff: ReconnectBackoff;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Drops a peer's invalidated keys from the hot copies too, once ownership is set up. */
  readonly dropHot: (bucket: string, key: string, prefix: boolean) => void;
  /** Marks every hot copy for revalidation, as the cache's entries. */
  readonly expireHot: () => void;
}

/** The streams from every peer; `setPeers` follows a changed membership. */
export interface PeerFollower {
  start(): void;
  /** Follows these peers from now on: kept ones keep their stream, new ones are dialed, removed ones closed. */
  setPeers(urls: readonly string[]): void;
  close(): Promise<void>;
}

export function followPeers(options: PeerFollowerOptions): PeerFollower {
  const { cache, logger, backoff } = options;
  const clients = new Map<string, CacheServiceClient>();
  const metrics = createPeerMetrics(options.registry, options.peers);
  const sourcesOf = (urls: readonly string[]) =>
    [...new Set(urls)].map((url) => {
      let client = clients.get(url);
      if (client === undefined) {
        client = createCacheServiceClient(url, { reconnect: backoff });
        clients.set(url, client);
      }
      const dialed = client;
      return { url, watch: (signal: AbortSignal) => dialed.watchInvalidations({ bucket: "" }, { signal }) };
    });
  const follower = createInvalidationFollower({
    sources: sourcesOf(options.peers),
    selfReplicaId: options.replicaId,
    // Dropped here without publishing: a republished invalidation would echo between peers for ever.
    // Should this throw, the stream is dropped: resubscribing resyncs, which covers it.
    onInvalidation: (peer, { bucket, key, prefix }) => {
      void cache.invalidate(bucket, key, { prefix, publish: false });
      options.dropHot(bucket, key, prefix);
      metrics.onApplied(peer);
    },
    // Also on the first subscription: this replica may have cached entries
    // (served reads) before it. Not when the peer says nothing was missed:
    // a replica that joined and wrote nothing yet, a stream that blipped
    // while nothing was written (expiring would cost a revalidation per key).
    onLive: (peer, peerReplicaId, mayHaveMissed) => {
      metrics.onLive(peer, mayHaveMissed);
      if (!mayHaveMissed) {
        logger.info({ peer, peerReplicaId }, "peer invalidation stream live; no invalidation was missed");
        return;
      }
      const expiredEntries = cache.expireAll();
      options.expireHot();
      logger.info(
        { peer, peerReplicaId, expiredEntries },
        "peer invalidation stream live; entries cached meanwhile will be revalidated",
      );
    },
    onDown: (peer, err, retryInMs, firstFailure) => {
      metrics.onDown(peer);
      // One warning per outage; the retries that follow are debug.
      logger[firstFailure ? "warn" : "debug"]({ peer, err, retryInMs }, "peer invalidation stream down");
    },
    onSelf: (peer) => {
      metrics.onSelf(peer);
      logger.info({ peer }, "a peer is this replica itself under another address (same replica id): not following it");
    },
    backoff,
  });
  return {
    start: () => follower.start(),
    setPeers(urls) {
      const kept = new Set(urls);
      for (const url of kept) if (!clients.has(url)) metrics.onJoined(url);
      follower.setSources(sourcesOf(urls));
      for (const [url, client] of clients) {
        if (kept.has(url)) continue;
        // The follower aborted its stream; closing the channel ends it at once.
        client.close();
        clients.delete(url);
        metrics.onLeft(url);
      }
    },
    async close() {
      await follower.stop();
      for (const client of clients.values()) client.close();
    },
  };
}
