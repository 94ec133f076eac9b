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
   * source's replica id. `mayHaveMissed` is false only when nothing can have
   * been missed (see {@link mayHaveMissed}); else the caller resyncs.
   */
  readonly onLive?: ((url: string, replicaId: string, mayHaveMissed: boolean) => void) | undefined;
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
  /**
   * Changes the sources at run time (the fleet's members changed): streams of
   * sources that stay are kept, new ones are opened (once started), removed
   * ones are closed. Sources are matched by `url`.
   */
  setSources(sources: readonly InvalidationSource[]): void;
  /** Closes the streams and stops reopening; resolves when every loop has ended. */
  stop(): Promise<void>;
  /** Every stream is live. */
  readonly live: boolean;
  /** Per source: whether its stream is live, and whether it is the follower itself. */
  streams(): { url: string; live: boolean; self: boolean }[];
}

/** One followed source and its loop. */
interface Followed {
  readonly source: InvalidationSource;
  /** Aborted when the source is removed or the follower stops. */
  readonly controller: AbortController;
  live: boolean;
  self: boolean;
  loop?: Promise<void>;
  /** Every attempt so far got `subscribed`: no stream to this source ever failed to open or broke. */
  neverDown: boolean;
  /** The replica id of the last live stream, and the last sequence of it applied here. */
  heard?: { replicaId: string; sequence: bigint };
}

/**
 * Whether a stream going live may have missed invalidations, so that the
 * follower must resync (expire what it holds). Not when the source says how
 * many it published (`last_sequence`) and either this is the source's first
 * stream, opened at the first attempt, and it published none yet (a replica
 * that joined), or it is the same replica as on the last stream and every
 * invalidation it published was applied here (a stream that blipped while
 * nothing was written). A source that predates `last_sequence` always may.
 */
export function mayHaveMissed(
  subscribed: { replicaId: string; lastSequence?: bigint | undefined },
  before: Pick<Followed, "neverDown" | "heard">,
): boolean {
  const last = subscribed.lastSequence;
  if (last === undefined) return true;
  if (before.heard === undefined) return !(before.neverDown && last === 0n);
  return !(before.heard.replicaId === subscribed.replicaId && before.heard.sequence === last);
}

/** Creates an {@link InvalidationFollower}; nothing is opened before `start()`. */
export function createInvalidationFollower(options: InvalidationFollowerOptions): InvalidationFollower {
  const { onInvalidation, onLive, onDown, onAllLiveChange, selfReplicaId, onSelf, backoff } = options;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? sleepUnlessAborted;
  let followed = new Map<string, Followed>();
  // Loops of removed sources too, so that stop() waits for every one.
  const loops = new Set<Promise<void>>();
  let started = false;
  let stopped = false;
  let allLive = false;

  function updateAllLive(): void {
    const all = [...followed.values()];
    const now = all.length > 0 && all.every((f) => f.live || f.self);
    if (now === allLive) return;
    allLive = now;
    onAllLiveChange?.(now);
  }

  function setLive(f: Followed, live: boolean): void {
    f.live = live;
    // A removed source's stream no longer counts either way.
    if (followed.get(f.source.url) === f) updateAllLive();
  }

  async function follow(f: Followed): Promise<void> {
    const { source, controller } = f;
    const signal = controller.signal;
    let attempt = 0;
    while (!signal.aborted) {
      let failure: unknown = new Error("the cache-store ended its invalidation stream");
      try {
        for await (const message of source.watch(signal)) {
          const event = message.event;
          if (event.case === "subscribed") {
            if (selfReplicaId !== undefined && event.value.replicaId === selfReplicaId) {
              f.self = true;
              onSelf?.(source.url);
              updateAllLive();
              return; // leaving the loop cancels the call
            }
            attempt = 0;
            const missed = mayHaveMissed(event.value, f);
            const { replicaId, lastSequence } = event.value;
            f.heard = { replicaId, sequence: lastSequence ?? -1n };
            setLive(f, true);
            onLive?.(source.url, replicaId, missed);
          } else if (event.case === "invalidation") {
            const { bucket, key, prefix, sequence } = event.value;
            onInvalidation(source.url, { bucket, key, prefix });
            // Counted once applied: an invalidation whose handler threw was not.
            if (f.heard !== undefined && sequence > f.heard.sequence) f.heard.sequence = sequence;
          }
        }
      } catch (err) {
        failure = err;
      }
      setLive(f, false);
      if (signal.aborted) return;
      f.neverDown = false;
      const delay = reconnectDelay(attempt, backoff, random);
      onDown?.(source.url, failure, delay, attempt === 0);
      attempt++;
      await sleep(delay, signal);
    }
  }

  function run(f: Followed): void {
    const loop = follow(f).finally(() => loops.delete(loop));
    f.loop = loop;
    loops.add(loop);
  }

  function setSources(sources: readonly InvalidationSource[]): void {
    const next = new Map<string, Followed>();
    for (const source of sources) {
      if (next.has(source.url)) continue;
      const held = followed.get(source.url);
      next.set(
        source.url,
        held ?? { source, controller: new AbortController(), live: false, self: false, neverDown: true },
      );
    }
    for (const [url, f] of followed) if (!next.has(url)) f.controller.abort();
    followed = next;
    if (started && !stopped) for (const f of next.values()) if (f.loop === undefined) run(f);
    updateAllLive();
  }

  setSources(options.sources);

  return {
    start() {
      if (started) return;
      started = true;
      for (const f of followed.values()) run(f);
    },
    setSources(sources) {
      if (stopped) return;
      setSources(sources);
    },
    async stop() {
      stopped = true;
      for (const f of followed.values()) f.controller.abort();
      await Promise.all([...loops]);
    },
    get live() {
      return allLive;
    },
    streams: () => [...followed.values()].map((f) => ({ url: f.source.url, live: f.live, self: f.self })),
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
