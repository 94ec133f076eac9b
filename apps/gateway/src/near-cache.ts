import { LRUCache } from "lru-cache";
import type { cacheV1 } from "@breakwater/proto";

/** A copy of a small object kept in the gateway. */
export interface NearCacheEntry {
  readonly info: cacheV1.ObjectInfo;
  /** The whole body. */
  readonly body: Buffer;
  /**
   * The cache-store's Cache-Status member of the response this copy was made
   * from, preserved for answers from the copy (RFC 9211 2).
   */
  readonly upstreamStatus: string;
  /** Clock time the copy was made. */
  readonly storedAt: number;
}

/** Options of {@link createNearCache}. */
export interface NearCacheOptions {
  /** Bound on held bytes, bodies plus a fixed overhead per entry. */
  readonly maxBytes: number;
  /** Larger objects are never kept. */
  readonly maxObjectBytes: number;
  /** A copy is served at most this long after it was made (ms). */
  readonly ttlMs: number;
  /** Milliseconds from some fixed point; tests pass their own. */
  readonly clock: () => number;
}

/**
 * A load that may become a near-cache entry: taken before the upstream call,
 * voided by any invalidation of its key that arrives before the entry is
 * stored, so that a body read before a write never lands after it.
 */
export interface FillTicket {
  readonly id: string;
  valid: boolean;
}

/** Counters and gauges of the near-cache, for /metrics. */
export interface NearCacheStats {
  readonly enabled: boolean;
  readonly entries: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly fills: number;
  /** Entries dropped because an invalidation named them (not by LRU or TTL). */
  readonly invalidated: number;
  /** Times the whole cache was emptied (an invalidation stream broke). */
  readonly clears: number;
}

/**
 * The gateway's near-cache: hot small objects kept in memory, coherent
 * through invalidations. It starts disabled; it serves and stores only while
 * enabled (every upstream's invalidation stream is live), and is emptied when
 * disabled. Pure: no timers, no I/O; time comes from `clock`.
 */
export interface NearCache {
  readonly enabled: boolean;
  /** Starts serving and storing (all invalidation streams are live). */
  enable(): void;
  /** Stops serving and storing, drops every copy and voids every fill in flight. */
  disable(): void;
  /** A copy younger than the TTL, or undefined (counted as hit or miss). */
  lookup(bucket: string, key: string): NearCacheEntry | undefined;
  /**
   * Starts a load that may fill the cache; pair with `end`. Invalid while
   * disabled. With `lead`, and no other lead in flight for the key, other
   * reads of the key may wait for this load (`joinFill`) instead of making
   * their own: a copy expiring under load costs one upstream read, not one
   * per request in flight.
   */
  begin(bucket: string, key: string, lead?: boolean): FillTicket;
  /**
   * The copy a leading load in flight for this key will store, to wait for:
   * resolves with it, or with undefined when the load stores nothing (it
   * declined, failed or was invalidated). Undefined when no load leads.
   */
  joinFill(bucket: string, key: string): Promise<NearCacheEntry | undefined> | undefined;
  /** A leading load will store nothing (a range, a 304, a stale or large answer): release its followers now. */
  decline(ticket: FillTicket): void;
  /** Stores the load's result if the ticket is still valid and the object small enough. */
  fill(ticket: FillTicket, entry: Omit<NearCacheEntry, "storedAt">): boolean;
  /** Ends a load (stored or not). */
  end(ticket: FillTicket): void;
  /** Whether an object of this size could be stored. */
  accepts(size: number): boolean;
  /** Drops one key, or every key with this prefix, and voids their fills in flight; answers how many copies went. */
  invalidate(bucket: string, key: string, prefix: boolean): number;
  stats(): NearCacheStats;
}

/** Accounted per entry besides its body: key, info and map bookkeeping. */
export const NEAR_CACHE_ENTRY_OVERHEAD = 512;

/** Creates a disabled {@link NearCache}; rejects bad sizes and durations with a RangeError. */
export function createNearCache(options: NearCacheOptions): NearCache {
  const { maxBytes, maxObjectBytes, ttlMs, clock } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= NEAR_CACHE_ENTRY_OVERHEAD) {
    throw new RangeError(`near-cache maxBytes must be above ${NEAR_CACHE_ENTRY_OVERHEAD}, got ${maxBytes}`);
  }
  if (!Number.isSafeInteger(maxObjectBytes) || maxObjectBytes < 0) {
    throw new RangeError(`near-cache maxObjectBytes must be ≥ 0, got ${maxObjectBytes}`);
  }
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`near-cache ttlMs must be > 0, got ${ttlMs}`);

  const entries = new LRUCache<string, NearCacheEntry>({
    maxSize: maxBytes,
    sizeCalculation: (e) => e.body.byteLength + NEAR_CACHE_ENTRY_OVERHEAD,
  });
  /** Loads in flight per key. */
  const pending = new Map<string, Set<FillTicket>>();
  /** Per key, the load others may wait for, and how to release them. */
  const leads = new Map<
    string,
    { ticket: FillTicket; copy: Promise<NearCacheEntry | undefined>; settle(entry: NearCacheEntry | undefined): void }
  >();
  let enabled = false;
  const counts = { hits: 0, misses: 0, fills: 0, invalidated: 0, clears: 0 };

  function voidFills(id: string): void {
    for (const t of pending.get(id) ?? []) t.valid = false;
    release(id, undefined);
  }

  /** Releases the followers of the key's lead, if any, and forgets it. */
  function release(id: string, entry: NearCacheEntry | undefined, onlyTicket?: FillTicket): void {
    const lead = leads.get(id);
    if (lead === undefined || (onlyTicket !== undefined && lead.ticket !== onlyTicket)) return;
    leads.delete(id);
    lead.settle(entry);
  }

  return {
    get enabled() {
      return enabled;
    },
    enable() {
      enabled = true;
    },
    disable() {
      enabled = false;
      if (entries.size > 0) counts.clears++;
      entries.clear();
      for (const tickets of pending.values()) for (const t of tickets) t.valid = false;
      for (const id of [...leads.keys()]) release(id, undefined);
    },
    lookup(bucket, key) {
      if (!enabled) return undefined;
      const id = storeKey(bucket, key);
      const entry = entries.get(id);
      if (entry !== undefined && clock() - entry.storedAt < ttlMs) {
        counts.hits++;
        return entry;
      }
      if (entry !== undefined) entries.delete(id); // past the TTL: never served again
      counts.misses++;
      return undefined;
    },
    begin(bucket, key, lead = false) {
      const ticket: FillTicket = { id: storeKey(bucket, key), valid: enabled };
      let set = pending.get(ticket.id);
      if (set === undefined) pending.set(ticket.id, (set = new Set()));
      set.add(ticket);
      if (lead && ticket.valid && !leads.has(ticket.id)) {
        let settle!: (entry: NearCacheEntry | undefined) => void;
        const copy = new Promise<NearCacheEntry | undefined>((resolve) => (settle = resolve));
        leads.set(ticket.id, { ticket, copy, settle });
      }
      return ticket;
    },
    joinFill(bucket, key) {
      return enabled ? leads.get(storeKey(bucket, key))?.copy : undefined;
    },
    decline(ticket) {
      release(ticket.id, undefined, ticket);
    },
    fill(ticket, entry) {
      if (
        !enabled ||
        !ticket.valid ||
        entry.body.byteLength > maxObjectBytes ||
        entry.body.byteLength + NEAR_CACHE_ENTRY_OVERHEAD > maxBytes
      ) {
        release(ticket.id, undefined, ticket);
        return false;
      }
      const stored = { ...entry, storedAt: clock() };
      entries.set(ticket.id, stored);
      counts.fills++;
      release(ticket.id, stored, ticket);
      return true;
    },
    end(ticket) {
      release(ticket.id, undefined, ticket);
      const set = pending.get(ticket.id);
      if (set === undefined) return;
      set.delete(ticket);
      if (set.size === 0) pending.delete(ticket.id);
    },
    accepts(size) {
      return enabled && size <= maxObjectBytes && size + NEAR_CACHE_ENTRY_OVERHEAD <= maxBytes;
    },
    invalidate(bucket, key, prefix) {
      if (!prefix) {
        const id = storeKey(bucket, key);
        voidFills(id);
        const dropped = entries.delete(id) ? 1 : 0;
        counts.invalidated += dropped;
        return dropped;
      }
      const start = storeKey(bucket, key);
      for (const id of pending.keys()) if (id.startsWith(start)) voidFills(id);
      let dropped = 0;
      for (const id of [...entries.keys()]) {
        if (id.startsWith(start) && entries.delete(id)) dropped++;
      }
      counts.invalidated += dropped;
      return dropped;
    },
    stats() {
      return { enabled, entries: entries.size, bytes: entries.calculatedSize, ...counts };
    },
  };
}

/** NUL cannot occur in a bucket, so "bucket\0key" is unambiguous and a key prefix is a string prefix. */
function storeKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}
