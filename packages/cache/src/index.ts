/**
 * @breakwater/cache: the pure cache core (byte-bounded store, single-flight,
 * object cache rules) and the storage port it reads through. The S3 adapter
 * sits behind the `@breakwater/cache/s3` subpath.
 */

/** Builds the object cache: read-through, write-through, stale-if-error over an ObjectStorage. */
export { createObjectCache } from "./object-cache.js";
/** Options, app event hooks and stale-answer details of createObjectCache. */
export type { ObjectCacheEvents, ObjectCacheOptions, StaleInfo } from "./object-cache.js";
/** The object cache's operations and answers. */
export type {
  CacheStatus,
  GetOptions,
  GetResult,
  HeadResult,
  InvalidateOptions,
  ObjectCache,
  ObjectCacheStats,
} from "./object-cache-api.js";
/** What the invalidation feed (WatchInvalidations) carries. */
export type { Invalidation, InvalidationCause, InvalidationListener } from "./invalidation-feed.js";

/** The seam to a circuit breaker, and how storage outcomes count for it. */
export { classifyOutcome } from "./breaker-hook.js";
/** Types of the breaker seam. */
export type { Admission, BreakerHook, StorageOutcome } from "./breaker-hook.js";

/** The injected time source, and the wall clock for apps. */
export { systemClock } from "./clock.js";
/** A source of milliseconds. */
export type { Clock } from "./clock.js";

/** RFC 9110 byte ranges: validation and resolution against an object's size. */
export { rangeLength, resolveRange, validateRange } from "./byte-range.js";
/** RFC 9110 conditional reads and entity-tag comparison, for near-caches that answer 304 themselves. */
export { ifNoneMatchFails, isNotModified, parseEntityTag, parseIfNoneMatch, weakMatch } from "./conditional.js";
/** Types of conditional reads. */
export type { EntityTag, ReadConditions } from "./conditional.js";
/** The largest chunk an answer carries (64 KiB). */
export { MAX_CHUNK_BYTES } from "./object-body.js";
/** A cached body: one buffer or a list of chunks. */
export type { ObjectBody } from "./object-body.js";

/** The storage port the cache reads and writes through (implemented by @breakwater/cache/s3). */
export type {
  ObjectMeta,
  ObjectStorage,
  RangeRequest,
  ResolvedRange,
  StorageGetOptions,
  StorageGetResult,
  StoragePutOptions,
  StoragePutResult,
} from "./storage.js";
/** The one bucket and key check, run wherever a name enters (gateway, CacheService, S3 adapter). */
export { checkObjectName } from "./object-names.js";
/** The one error type of the cache and its adapters, with its kinds and guard. */
export { CacheError, isCacheError } from "./errors.js";
/** Why a cache or storage call failed. */
export type { CacheErrorKind } from "./errors.js";
/** Which cache-store replica owns a key (rendezvous hashing), and its fallbacks in order. */
export { createOwnerOrder, type OwnerOrder } from "./owner-order.js";
