/**
 * The object cache's contract: what a read, a HEAD and the stats answer, and
 * the operations apps call. `createObjectCache` (object-cache.ts) implements it.
 */
import type { InvalidationListener } from "./invalidation-feed.js";
import type { ObjectMeta, RangeRequest, ResolvedRange, StoragePutOptions, StoragePutResult } from "./storage.js";

/** How an answer was produced (RFC 9211 Cache-Status terms, CacheService's CacheStatus). */
export type CacheStatus = "HIT" | "MISS" | "REVALIDATED" | "STALE" | "COALESCED" | "BYPASS";
/** Options of a read. */
export interface GetOptions {
  /** Only these bytes; cut from a cached object, else asked of storage. */
  readonly range?: RangeRequest | undefined;
  /** If-None-Match field value: `*` or a list of entity tags (weak comparison). */
  readonly ifNoneMatch?: string | undefined;
  /** If-Modified-Since; ignored when `ifNoneMatch` is set (RFC 9110 13.1.3). */
  readonly ifModifiedSince?: Date | undefined;
  /** Cancels this caller's wait; a load shared with others goes on for them. */
  readonly signal?: AbortSignal | undefined;
}

/** A read's answer. */
export interface GetResult {
  readonly status: CacheStatus;
  /** The whole object's metadata (also for ranged and not-modified answers). */
  readonly meta: ObjectMeta;
  /** A condition held: no body. */
  readonly notModified: boolean;
  /** The bytes `body` carries, when a range was asked for. */
  readonly range?: ResolvedRange | undefined;
  /**
   * Chunks of at most 64 KiB; views of cached memory, not to be written to.
   * Consume it or return its iterator: a BYPASS body holds a storage connection.
   */
  readonly body: AsyncIterable<Uint8Array>;
}

/** A HEAD's answer. */
export interface HeadResult {
  readonly status: CacheStatus;
  readonly meta: ObjectMeta;
}

/** Options of {@link ObjectCache.invalidate}. */
export interface InvalidateOptions {
  /** Drop every key starting with `key` (empty: the whole bucket). */
  readonly prefix?: boolean | undefined;
  /**
   * Publish a "purge" invalidation (default true). Apps applying another
   * replica's invalidation pass false, so that it does not echo back.
   */
  readonly publish?: boolean | undefined;
}

/** Counters and sizes for GetStats. */
export interface ObjectCacheStats {
  /** Answers from a fresh copy (cached 404s included). */
  readonly hits: number;
  /** Answers fetched from storage by their own request. */
  readonly misses: number;
  /** Answers from a stale copy because storage failed or its breaker was open. */
  readonly staleServed: number;
  /** Answers from a copy storage confirmed unchanged. */
  readonly revalidations: number;
  /** Answers that joined another request's storage fetch. */
  readonly coalesced: number;
  /** Answers streamed from storage uncached (too large, or ranged). */
  readonly bypassed: number;
  /** Entries dropped to make room. */
  readonly evictions: number;
  /** Bytes counted against the bound, and the bound. */
  readonly bytes: number;
  readonly maxBytes: number;
  /** Entries held, cached 404s included. */
  readonly entries: number;
}

/** A byte-bounded read-through, write-through cache of objects. */
export interface ObjectCache {
  /** Reads an object (or a range of it); a missing object is CacheError "not-found". */
  get(bucket: string, key: string, options?: GetOptions): Promise<GetResult>;
  /** An object's metadata, from the cache when fresh. */
  head(bucket: string, key: string, options?: { signal?: AbortSignal | undefined }): Promise<HeadResult>;
  /** Writes through to storage; the cached copy is dropped only once storage acknowledged. */
  put(
    bucket: string,
    key: string,
    body: AsyncIterable<Uint8Array>,
    options?: StoragePutOptions,
  ): Promise<StoragePutResult>;
  /** Deletes in storage, then remembers the 404. Idempotent. */
  delete(bucket: string, key: string, options?: { signal?: AbortSignal | undefined }): Promise<void>;
  /** Drops cached copies of a key or prefix without touching storage; returns how many. */
  invalidate(bucket: string, key: string, options?: InvalidateOptions): number;
  /**
   * Marks every cached entry as needing revalidation without dropping any,
   * for when invalidations may have been missed (a peer's stream was down):
   * the next read of an object asks storage with If-None-Match (REVALIDATED
   * when unchanged), and the copy still serves when storage fails; cached 404s
   * are forgotten; loads in flight store nothing. Publishes nothing.
   * Answers the entries held.
   */
  expireAll(): number;
  /** Subscribes to this cache's invalidations; returns the unsubscribe function. */
  onInvalidation(listener: InvalidationListener): () => void;
  /** The `sequence` of the last invalidation published (0 before any). */
  readonly invalidationSequence: number;
  /** Drops entries past max stale and expired 404s; the app calls it on an interval. */
  sweep(): number;
  stats(): ObjectCacheStats;
}
