/**
 * The byte-bounded entry store under the object cache: least recently used
 * entries go first, the byte bound holds at every moment (lru-cache evicts
 * before it inserts), and freshness is kept here with the caller's clock
 * rather than lru-cache's own ttl (which reads performance.now).
 */
import { LRUCache } from "lru-cache";
import { bodyLength, type ObjectBody } from "./object-body.js";
import type { ObjectMeta } from "./storage.js";

/** A cached object: its metadata and whole body. */
export interface ObjectEntry {
  readonly kind: "object";
  readonly meta: ObjectMeta;
  readonly body: ObjectBody;
  /** When the body was fetched from storage. */
  readonly storedAt: number;
  /** When storage last confirmed it (fetch or 304); freshness counts from here. */
  readonly validatedAt: number;
}

/** A cached 404: the object did not exist when storage was last asked. */
export interface NegativeEntry {
  readonly kind: "not-found";
  readonly storedAt: number;
}

/** What the store holds per key. */
export type CacheEntry = ObjectEntry | NegativeEntry;

/** A found entry and how it may be served. */
export interface Lookup<E extends CacheEntry = CacheEntry> {
  readonly entry: E;
  /** "fresh": serve as is; "stale": revalidate, or serve if storage fails. */
  readonly freshness: "fresh" | "stale";
  /** Milliseconds since the entry was stored or last validated. */
  readonly ageMs: number;
}

/** Options of {@link createObjectStore}. */
export interface ObjectStoreOptions {
  /** Bound on the bytes held: bodies plus a small per-entry overhead. */
  readonly maxBytes: number;
  /** Bodies larger than this are refused. */
  readonly maxObjectBytes: number;
  /** An object younger than this (since validation) is fresh. */
  readonly ttlMs: number;
  /** An object younger than this is stale but servable; older ones are dropped. */
  readonly maxStaleMs: number;
  /** How long a cached 404 holds. */
  readonly negativeTtlMs: number;
}

/** Byte counts and evictions, for stats. */
export interface ObjectStoreStats {
  /** Bytes counted against the bound (bodies plus per-entry overhead). */
  readonly bytes: number;
  readonly maxBytes: number;
  readonly entries: number;
  /** Entries dropped to make room (not expiries, invalidations or replacements). */
  readonly evictions: number;
}

/** A byte-bounded LRU of objects and cached 404s with clock-driven freshness. */
export interface ObjectStore {
  /**
   * The entry for a key if it may still be served, marking it recently used.
   * Entries past max stale and expired 404s are dropped on the way.
   */
  lookup(bucket: string, key: string, now: number): Lookup | undefined;
  /** The entry without touching recency or expiry. */
  peek(bucket: string, key: string): CacheEntry | undefined;
  /** Stores an object; undefined (and nothing stored) when it is too large. */
  setObject(bucket: string, key: string, meta: ObjectMeta, body: ObjectBody, now: number): ObjectEntry | undefined;
  /** Caches a 404. */
  setNotFound(bucket: string, key: string, now: number): void;
  /**
   * Marks `entry` confirmed by storage at `now`, if it is still the entry held
   * for the key (a write may have replaced it meanwhile).
   */
  markValidated(bucket: string, key: string, entry: ObjectEntry, now: number): ObjectEntry | undefined;
  /** Drops the key's entry (only if it is `expected`, when given); true when dropped. */
  delete(bucket: string, key: string, expected?: CacheEntry): boolean;
  /** Drops every entry whose key starts with `prefix`; returns how many. */
  deletePrefix(bucket: string, prefix: string): number;
  /** Drops objects past max stale and expired 404s; returns how many. */
  sweep(now: number): number;
  /**
   * Ends the freshness of every entry held at `now` without dropping any:
   * objects are revalidated on their next read (a cheap 304 when unchanged)
   * and still serve as stale-if-error copies; 404s are forgotten. For when
   * invalidations may have been missed. Answers the entries held.
   */
  expireAll(now: number): number;
  stats(): ObjectStoreStats;
}

/**
 * Per-entry bytes counted on top of the body: the entry and meta objects, the
 * map slot and the key. An estimate; it keeps many tiny entries (404s above
 * all) from escaping the bound.
 */
export const ENTRY_OVERHEAD_BYTES = 256;

/**
 * The store key: bucket and key joined by NUL, which no bucket name contains.
 * Only these two: never request headers.
 */
export function storeKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}

/** Creates an {@link ObjectStore}; rejects impossible bounds with a RangeError. */
export function createObjectStore(options: ObjectStoreOptions): ObjectStore {
  const { maxBytes, maxObjectBytes, ttlMs, maxStaleMs, negativeTtlMs } = options;
  checkPositive("maxBytes", maxBytes);
  checkPositive("maxObjectBytes", maxObjectBytes);
  if (maxObjectBytes > maxBytes) throw new RangeError(`maxObjectBytes ${maxObjectBytes} exceeds maxBytes ${maxBytes}`);
  checkDuration("ttlMs", ttlMs);
  checkDuration("maxStaleMs", maxStaleMs);
  checkDuration("negativeTtlMs", negativeTtlMs);
  if (maxStaleMs < ttlMs) throw new RangeError(`maxStaleMs ${maxStaleMs} is shorter than ttlMs ${ttlMs}`);

  let evictions = 0;
  // Entries confirmed at or before this moment are no fresher than stale
  // (expireAll). A watermark rather than a rewrite of every entry: O(1), no
  // change to recency, and validatedAt keeps its meaning, so the stale window
  // (max stale) still counts from when storage last confirmed the copy.
  let expiredAt = -Infinity;
  const lru = new LRUCache<string, CacheEntry>({
    maxSize: maxBytes,
    // An entry must fit the bound on its own; the per-object cap on bodies
    // is checked in setObject, where it can say no.
    maxEntrySize: maxBytes,
    sizeCalculation: entrySize,
    dispose: (_value, _key, reason) => {
      if (reason === "evict") evictions++;
    },
  });

  function classify(entry: CacheEntry, now: number): Lookup | undefined {
    // A clock stepping back must not make an entry older than it is.
    const confirmedAt = entry.kind === "object" ? entry.validatedAt : entry.storedAt;
    const ageMs = Math.max(0, now - confirmedAt);
    // `<=`: an entry confirmed in the same millisecond as expireAll may predate it.
    const expired = confirmedAt <= expiredAt;
    if (entry.kind === "not-found")
      return ageMs < negativeTtlMs && !expired ? { entry, freshness: "fresh", ageMs } : undefined;
    if (ageMs < ttlMs && !expired) return { entry, freshness: "fresh", ageMs };
    if (ageMs < maxStaleMs) return { entry, freshness: "stale", ageMs };
    return undefined;
  }

  return {
    lookup(bucket, key, now) {
      const k = storeKey(bucket, key);
      const entry = lru.get(k);
      if (entry === undefined) return undefined;
      const found = classify(entry, now);
      if (found === undefined) lru.delete(k);
      return found;
    },
    peek: (bucket, key) => lru.peek(storeKey(bucket, key)),
    setObject(bucket, key, meta, body, now) {
      if (bodyLength(body) > maxObjectBytes) return undefined;
      const k = storeKey(bucket, key);
      const entry: ObjectEntry = { kind: "object", meta, body, storedAt: now, validatedAt: now };
      if (entrySize(entry, k) > maxBytes) return undefined;
      lru.set(k, entry);
      return entry;
    },
    setNotFound(bucket, key, now) {
      lru.set(storeKey(bucket, key), { kind: "not-found", storedAt: now });
    },
    markValidated(bucket, key, entry, now) {
      const k = storeKey(bucket, key);
      if (lru.peek(k) !== entry) return undefined;
      const refreshed: ObjectEntry = { ...entry, validatedAt: now };
      lru.set(k, refreshed);
      return refreshed;
    },
    delete(bucket, key, expected) {
      const k = storeKey(bucket, key);
      if (expected !== undefined && lru.peek(k) !== expected) return false;
      return lru.delete(k);
    },
    deletePrefix(bucket, prefix) {
      // A scan: purges are rare operator actions, reads stay O(1).
      const start = storeKey(bucket, prefix);
      const doomed = [...lru.keys()].filter((k) => k.startsWith(start));
      for (const k of doomed) lru.delete(k);
      return doomed.length;
    },
    sweep(now) {
      const doomed: string[] = [];
      // entries() does not touch recency.
      for (const [k, entry] of lru.entries()) if (classify(entry, now) === undefined) doomed.push(k);
      for (const k of doomed) lru.delete(k);
      return doomed.length;
    },
    expireAll(now) {
      expiredAt = Math.max(expiredAt, now);
      return lru.size;
    },
    stats: () => ({ bytes: lru.calculatedSize, maxBytes, entries: lru.size, evictions }),
  };
}

/** Bytes an entry counts against the bound. */
export function entrySize(entry: CacheEntry, storeKey: string): number {
  let n = ENTRY_OVERHEAD_BYTES + storeKey.length;
  if (entry.kind === "not-found") return n;
  const { meta } = entry;
  n += bodyLength(entry.body) + meta.contentType.length + meta.etag.length;
  for (const [name, value] of Object.entries(meta.metadata)) n += name.length + value.length;
  return n;
}

function checkPositive(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

function checkDuration(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}`);
}
