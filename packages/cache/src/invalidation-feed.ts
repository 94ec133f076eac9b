/**
 * The invalidation feed: every key or prefix this cache's writes, deletes and
 * purges invalidate, in order, so near-caches and other replicas can drop
 * their copies (CacheService.WatchInvalidations).
 */

/** What made a key stale. */
export type InvalidationCause = "put" | "delete" | "purge";

/** One invalidation. */
export interface Invalidation {
  readonly bucket: string;
  /** The key, or with `prefix` a key prefix (empty: the whole bucket). */
  readonly key: string;
  readonly prefix: boolean;
  readonly cause: InvalidationCause;
  /** Grows by one per invalidation this cache publishes, from 1. */
  readonly sequence: number;
}

/** Receives invalidations synchronously, as they are published. */
export type InvalidationListener = (invalidation: Invalidation) => void;

/** Options of {@link createInvalidationFeed}. */
export interface InvalidationFeedOptions {
  /** Receives what a listener threw; the other listeners still run. */
  readonly onListenerError?: ((error: unknown) => void) | undefined;
}

/** Publish/subscribe for invalidations with a growing sequence. */
export interface InvalidationFeed {
  publish(event: Omit<Invalidation, "sequence">): Invalidation;
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: InvalidationListener): () => void;
  /** The sequence of the last invalidation published (0 before any). */
  readonly sequence: number;
}

/** Creates an {@link InvalidationFeed}. */
export function createInvalidationFeed(options: InvalidationFeedOptions = {}): InvalidationFeed {
  const listeners = new Set<InvalidationListener>();
  let sequence = 0;
  return {
    publish(event) {
      const invalidation: Invalidation = Object.freeze({ ...event, sequence: ++sequence });
      // A snapshot: listeners may unsubscribe while being called.
      for (const listener of [...listeners]) {
        try {
          listener(invalidation);
        } catch (e) {
          // A broken subscriber must not fail the write that published.
          options.onListenerError?.(e);
        }
      }
      return invalidation;
    },
    subscribe(listener) {
      // Wrapped, so that subscribing one function twice gives two subscriptions.
      const own: InvalidationListener = (i) => listener(i);
      listeners.add(own);
      return () => {
        listeners.delete(own);
      };
    },
    get sequence() {
      return sequence;
    },
  };
}
