/**
 * Follows cache-stores' invalidations (design.md: "near-caches and other
 * replicas subscribe" to WatchInvalidations): one stream per cache-store,
 * reopened with backoff and jitter whenever it breaks. The gateway's
 * near-cache and a replica's peers both follow this way (the pattern of
 * Redis client-side caching with invalidation).
 */
import type { cacheV1 } from "@breakwater/proto";
import { reconnectDelay, type ReconnectBackoff } from "@breakwater/breaker";

/** One cache-store's WatchInvalidations stream, opened anew on each call. */
export interface InvalidationSource {
  readonly url: string;
  watch(signal: AbortSignal): AsyncIterable<cacheV1.WatchInvalidationsResponse>;
}

/** What an invalidation names: one key, or every key under a prefix. */
export interface InvalidatedKeys {
  readonly bucket: string;
  readonly key: string;
  readonly prefix: boolean;
}

/** Options of {@link createInvalidationFollower}. */
export interface InvalidationFollowerOptions {
  /** The cache-stores to follow. */
  readonly sources: readonly InvalidationSource[];
  /**
   * Each invalidation as it arrives, from any source, even before its
   * `subscribed` (dropping a copy is always safe). Should it throw, the
   * stream is dropped and reopened.
   */
  readonly onInvalidation: (url: string, keys: InvalidatedKeys) => void;
  /**
   * A stream is live: its first message, `subscribed`, arrived with the
   * source's replica id. Invalidations may have been missed while it was not.
   */
  readonly onLive?: ((url: string, replicaId: string) => void) | undefined;
  /**
   * A stream broke or could not be opened; it is reopened in `retryInMs`.
   * `firstFailure` is true for the first failure since the stream was last
   * live (or since start), false for the retries that follow it.
   */
  readonly onDown?: ((url: string, error: unknown, retryInMs: number, firstFailure: boolean) => void) | undefined;
  /** True once every stream is live (the follower's own aside), false as soon as one is not; on changes only. */
  readonly onAllLiveChange?: ((live: boolean) => void) | undefined;
  /**
   * The follower's own replica id, when it is a cache-store: a source whose
   * `subscribed` carries it is this replica itself and is not followed.
   */
  readonly selfReplicaId?: string | undefined;
  /** A source turned out to be this replica itself: it is not followed. */
  readonly onSelf?: ((url: string) => void) | undefined;
  /** Delays between attempts to reopen a stream. */
  readonly backoff: ReconnectBackoff;
  /** Waits `ms`, or less when `signal` aborts; tests pass their own. */
  readonly sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  /** In [0, 1); tests pass their own. */
  readonly random?: (() => number) | undefined;
}

/** Keeps a WatchInvalidations stream open to every source, reopening with backoff. */
export interface InvalidationFollower {
  /** Opens the streams (once). */
  start(): void;
  /** Closes the streams and stops reopening; resolves when every loop has ended. */
  stop(): Promise<void>;
  /** Every stream is live. */
  readonly live: boolean;
  /** Per source: whether its stream is live, and whether it is the follower itself. */
  streams(): { url: string; live: boolean; self: boolean }[];
}

/** Creates an {@link InvalidationFollower}; nothing is opened before `start()`. */
export function createInvalidationFollower(options: InvalidationFollowerOptions): InvalidationFollower {
  const { sources, onInvalidation, onLive, onDown, onAllLiveChange, selfReplicaId, onSelf, backoff } = options;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? sleepUnlessAborted;
  const liveFlags = sources.map(() => false);
  const selfFlags = sources.map(() => false);
  const controller = new AbortController();
  let loops: Promise<void>[] | undefined;
  let allLive = false;

  function setLive(index: number, live: boolean): void {
    liveFlags[index] = live;
    const now = liveFlags.length > 0 && liveFlags.every((l, i) => l || selfFlags[i]);
    if (now === allLive) return;
    allLive = now;
    onAllLiveChange?.(now);
  }

  async function follow(source: InvalidationSource, index: number): Promise<void> {
    const signal = controller.signal;
    let attempt = 0;
    while (!signal.aborted) {
      let failure: unknown = new Error("the cache-store ended its invalidation stream");
      try {
        for await (const message of source.watch(signal)) {
          const event = message.event;
          if (event.case === "subscribed") {
            if (selfReplicaId !== undefined && event.value.replicaId === selfReplicaId) {
              selfFlags[index] = true;
              onSelf?.(source.url);
              return; // leaving the loop cancels the call
            }
            attempt = 0;
            setLive(index, true);
            onLive?.(source.url, event.value.replicaId);
          } else if (event.case === "invalidation") {
            const { bucket, key, prefix } = event.value;
            onInvalidation(source.url, { bucket, key, prefix });
          }
        }
      } catch (err) {
        failure = err;
      }
      setLive(index, false);
      if (signal.aborted) return;
      const delay = reconnectDelay(attempt, backoff, random);
      onDown?.(source.url, failure, delay, attempt === 0);
      attempt++;
      await sleep(delay, signal);
    }
  }

  return {
    start() {
      loops ??= sources.map((s, i) => follow(s, i));
    },
    async stop() {
      controller.abort();
      await Promise.all(loops ?? []);
    },
    get live() {
      return allLive;
    },
    streams: () => sources.map((s, i) => ({ url: s.url, live: liveFlags[i]!, self: selfFlags[i]! })),
  };
}

/**
 * Waits `ms`, or less when `signal` aborts; never rejects. The timer is
 * unref'd: a pending retry must not hold the process open.
 */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener("abort", done, { once: true });
  });
}
