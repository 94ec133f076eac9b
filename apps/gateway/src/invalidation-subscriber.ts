import { type BackoffOptions, reconnectDelay, sleepUnlessAborted } from "@breakwater/server-kit";
import type { cacheV1 } from "@breakwater/proto";

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

/** Options of {@link createInvalidationSubscriber}. */
export interface InvalidationSubscriberOptions {
  /** Every upstream: the near-cache may serve only while all of them are watched. */
  readonly sources: readonly InvalidationSource[];
  /** Each invalidation as it arrives, from any source. */
  readonly onInvalidation: (keys: InvalidatedKeys) => void;
  /**
   * True once every stream is live (its `subscribed` message arrived), false
   * as soon as one breaks; called on changes only.
   */
  readonly onLiveChange: (live: boolean) => void;
  readonly backoff: BackoffOptions;
  /** Waits `ms`, or less when `signal` aborts; tests pass their own. */
  readonly sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  /** In [0, 1); tests pass their own. */
  readonly random?: (() => number) | undefined;
  /** Things worth a log line. */
  readonly events?: InvalidationSubscriberEvents | undefined;
}

/** Reported as they happen, for the app to log and count. */
export interface InvalidationSubscriberEvents {
  readonly onStreamLive?: ((url: string, replicaId: string) => void) | undefined;
  readonly onStreamBroken?: ((url: string, error: unknown, retryInMs: number) => void) | undefined;
}

/** Keeps a WatchInvalidations stream open to every upstream, resubscribing with backoff. */
export interface InvalidationSubscriber {
  /** Opens the streams (once). */
  start(): void;
  /** Closes the streams and stops resubscribing; resolves when every loop has ended. */
  stop(): Promise<void>;
  /** Every stream is live. */
  readonly live: boolean;
  /** Per upstream: whether its stream is live. */
  streams(): { url: string; live: boolean }[];
}

/**
 * Subscribes to `CacheService.WatchInvalidations` on every upstream (the
 * pattern of Redis client-side caching with invalidation): each stream is
 * live from its first message, `subscribed`; when one breaks the near-cache
 * must be emptied and turned off until it is back, since invalidations may
 * have been missed meanwhile.
 */
export function createInvalidationSubscriber(options: InvalidationSubscriberOptions): InvalidationSubscriber {
  const { sources, onInvalidation, onLiveChange, backoff, events } = options;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? sleepUnlessAborted;
  const liveFlags = sources.map(() => false);
  const controller = new AbortController();
  let loops: Promise<void>[] | undefined;
  let allLive = false;

  function setLive(index: number, live: boolean): void {
    liveFlags[index] = live;
    const now = liveFlags.length > 0 && liveFlags.every(Boolean);
    if (now === allLive) return;
    allLive = now;
    onLiveChange(now);
  }

  async function watchLoop(source: InvalidationSource, index: number): Promise<void> {
    const signal = controller.signal;
    let attempt = 0;
    while (!signal.aborted) {
      let failure: unknown = new Error("the invalidation stream ended");
      try {
        for await (const message of source.watch(signal)) {
          const event = message.event;
          if (event.case === "subscribed") {
            attempt = 0;
            setLive(index, true);
            events?.onStreamLive?.(source.url, event.value.replicaId);
          } else if (event.case === "invalidation") {
            // Applied even before `subscribed`: dropping a copy is always safe.
            const { bucket, key, prefix } = event.value;
            onInvalidation({ bucket, key, prefix });
          }
        }
      } catch (err) {
        failure = err;
      }
      setLive(index, false);
      if (signal.aborted) return;
      const delay = reconnectDelay(attempt++, backoff, random);
      events?.onStreamBroken?.(source.url, failure, delay);
      await sleep(delay, signal);
    }
  }

  return {
    start() {
      loops ??= sources.map((s, i) => watchLoop(s, i));
    },
    async stop() {
      controller.abort();
      await Promise.all(loops ?? []);
    },
    get live() {
      return allLive;
    },
    streams: () => sources.map((s, i) => ({ url: s.url, live: liveFlags[i]! })),
  };
}

