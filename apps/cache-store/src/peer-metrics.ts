import { Counter, Gauge, type Registry } from "prom-client";

/** What the peers' follower reports, by peer URL. */
export interface PeerMetrics {
  /** The stream is live; `resynced` when this replica expired its cache because of it. */
  onLive(peer: string, resynced: boolean): void;
  /** The stream broke or could not be opened. */
  onDown(peer: string): void;
  /** An invalidation from the peer was applied. */
  onApplied(peer: string): void;
  /** The peer is this replica itself. */
  onSelf(peer: string): void;
  /** A member joined: its series exist from now on, at 0. */
  onJoined(peer: string): void;
  /** A member left: it is no longer followed, so it has no live series. */
  onLeft(peer: string): void;
}

/**
 * The peers' invalidation streams in /metrics: whether each is live, what
 * each applied, and how often this replica resynced (expired its whole cache)
 * because of it. Every peer's series exist from the start, so a peer that was
 * never reachable shows as 0, not as missing.
 */
export function createPeerMetrics(registry: Registry, urls: readonly string[]): PeerMetrics {
  const live = new Gauge({
    name: "cache_peer_invalidation_stream_live",
    help: "1 while the WatchInvalidations stream from this peer is live, else 0",
    labelNames: ["peer"],
    registers: [registry],
  });
  const applied = new Counter({
    name: "cache_peer_invalidations_applied_total",
    help: "Invalidations received from this peer and applied to the local cache (not republished)",
    labelNames: ["peer"],
    registers: [registry],
  });
  const resyncs = new Counter({
    name: "cache_peer_resyncs_total",
    help: "Subscriptions to this peer after which every cached entry was marked for revalidation",
    labelNames: ["peer"],
    registers: [registry],
  });
  const joined = (peer: string): void => {
    live.set({ peer }, 0);
    applied.inc({ peer }, 0);
    resyncs.inc({ peer }, 0);
  };
  for (const peer of urls) joined(peer);
  return {
    onJoined: joined,
    // Its counters stay: what it sent was applied.
    onLeft: (peer) => live.remove({ peer }),
    onLive: (peer, resynced) => {
      live.set({ peer }, 1);
      if (resynced) resyncs.inc({ peer });
    },
    onDown: (peer) => live.set({ peer }, 0),
    onApplied: (peer) => applied.inc({ peer }),
    // This replica itself: neither a live nor a dead peer.
    onSelf: (peer) => {
      live.remove({ peer });
      applied.remove({ peer });
      resyncs.remove({ peer });
    },
  };
}
