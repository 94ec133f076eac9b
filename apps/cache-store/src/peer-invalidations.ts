/**
 * Replicas follow each other's invalidations (design.md: "near-caches and
 * other replicas subscribe" to WatchInvalidations), so that a write through
 * one replica stops the others serving their old copies at once rather than
 * after CACHE_TTL.
 */
import type { cacheV1 } from "@breakwater/proto";
import { type BackoffOptions, reconnectDelay, sleepUnlessAborted } from "@breakwater/server-kit";

/** One peer's WatchInvalidations stream, opened anew on each call. */
export interface PeerSource {
  readonly url: string;
  watch(signal: AbortSignal): AsyncIterable<cacheV1.WatchInvalidationsResponse>;
}

/** What a peer's invalidation names: one key, or every key under a prefix. */
export interface PeerInvalidation {
  readonly bucket: string;
  readonly key: string;
  readonly prefix: boolean;
}

/** Options of {@link createPeerInvalidations}. */
export interface PeerInvalidationsOptions {
  /** The other replicas (CACHE_STORE_PEERS). */
  readonly peers: readonly PeerSource[];
  /** This replica's id, as its own `subscribed` carries it: a peer answering with it is this replica. */
  readonly replicaId: string;
  /**
   * Drops the local copies an invalidation names, without publishing it: a
   * republished invalidation would echo between peers for ever.
   */
  readonly apply: (invalidation: PeerInvalidation) => void;
  /**
   * Called on each `subscribed`: invalidations may have been missed while the
   * stream was not live, so every cached entry must be revalidated (expired,
   * not dropped). Answers how many entries that touched.
   */
  readonly resync: () => number;
  readonly backoff: BackoffOptions;
  /** Waits `ms`, or less when `signal` aborts; tests pass their own. */
  readonly sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  /** In [0, 1); tests pass their own. */
  readonly random?: (() => number) | undefined;
  readonly events?: PeerInvalidationEvents | undefined;
}

/** Reported as they happen, for the app to log and count. */
export interface PeerInvalidationEvents {
  /** The stream is live; `expiredEntries` were marked for revalidation. */
  readonly onLive?: ((url: string, peerReplicaId: string, expiredEntries: number) => void) | undefined;
  /**
   * The stream broke or could not be opened. `firstFailure` is true for the
   * first failure since the stream was last live (or since start), false for
   * the retries that follow it.
   */
  readonly onDown?: ((url: string, error: unknown, retryInMs: number, firstFailure: boolean) => void) | undefined;
  readonly onApplied?: ((url: string, invalidation: PeerInvalidation) => void) | undefined;
  /** The peer is this replica itself (a fleet-wide CACHE_STORE_PEERS): it is not followed. */
  readonly onSelf?: ((url: string) => void) | undefined;
}

/** Keeps a WatchInvalidations stream open to every peer, resubscribing with backoff. */
export interface PeerInvalidations {
  /** Opens the streams (once). */
  start(): void;
  /** Closes the streams and stops resubscribing; resolves when every loop has ended. */
  stop(): Promise<void>;
  /** Per peer: whether its stream is live, and whether it is this replica itself. */
  streams(): { url: string; live: boolean; self: boolean }[];
}

/** Creates {@link PeerInvalidations}; nothing is opened before `start()`. */
export function createPeerInvalidations(options: PeerInvalidationsOptions): PeerInvalidations {
  const { peers, replicaId, apply, resync, backoff, events } = options;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? sleepUnlessAborted;
  const live = peers.map(() => false);
  const self = peers.map(() => false);
  const controller = new AbortController();
  let loops: Promise<void>[] | undefined;

  async function follow(peer: PeerSource, index: number): Promise<void> {
    const signal = controller.signal;
    let attempt = 0;
    while (!signal.aborted) {
      let failure: unknown = new Error("the peer ended its invalidation stream");
      try {
        for await (const message of peer.watch(signal)) {
          const event = message.event;
          if (event.case === "subscribed") {
            if (event.value.replicaId === replicaId) {
              self[index] = true;
              events?.onSelf?.(peer.url);
              return; // leaving the loop cancels the call
            }
            attempt = 0;
            // Also on the first subscription: this replica may have cached
            // entries (served reads) before it; on a fresh start none are held.
            const expired = resync();
            live[index] = true;
            events?.onLive?.(peer.url, event.value.replicaId, expired);
          } else if (event.case === "invalidation") {
            const { bucket, key, prefix } = event.value;
            // Should this throw, the stream is dropped: resubscribing resyncs,
            // which covers the invalidation that was not applied.
            apply({ bucket, key, prefix });
            events?.onApplied?.(peer.url, { bucket, key, prefix });
          }
        }
      } catch (err) {
        failure = err;
      }
      live[index] = false;
      if (signal.aborted) return;
      const delay = reconnectDelay(attempt, backoff, random);
      events?.onDown?.(peer.url, failure, delay, attempt === 0);
      attempt++;
      await sleep(delay, signal);
    }
  }

  return {
    start() {
      loops ??= peers.map((p, i) => follow(p, i));
    },
    async stop() {
      controller.abort();
      await Promise.all(loops ?? []);
    },
    streams: () => peers.map((p, i) => ({ url: p.url, live: live[i]!, self: self[i]! })),
  };
}
