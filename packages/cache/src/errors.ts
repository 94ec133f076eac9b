/**
 * The cache's errors. Each carries a brand so that `isX()` works across copies
 * of the package; apps map them to gRPC codes in one place.
 */

const brand = Symbol.for("breakwater.cache.error");

/** Why a cache or storage call failed, as the apps map it. */
export type CacheErrorKind =
  /** The object does not exist (S3 NoSuchKey / 404). */
  | "not-found"
  /** A write's If-Match / If-None-Match did not hold (412). */
  | "precondition-failed"
  /** Bad bucket, key, range or option: the caller's mistake. */
  | "invalid-argument"
  /** The range does not overlap the object (416). */
  | "range-not-satisfiable"
  /** A put larger than the configured limit. */
  | "too-large"
  /** Storage failed, timed out or is unreachable: worth a retry, counts against the breaker. */
  | "unavailable"
  /** The call was cancelled by its caller. */
  | "cancelled";

/** One error type for the cache and its storage adapters. */
export class CacheError extends Error {
  readonly [brand] = true;
  override readonly name = "CacheError";
  constructor(
    readonly kind: CacheErrorKind,
    message: string,
    options?: {
      cause?: unknown;
      /** For "unavailable" from an open breaker: when to try again. */
      retryAfterMs?: number | undefined;
      /** For "range-not-satisfiable": the object's size. */
      objectSize?: number | undefined;
    },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options?.retryAfterMs;
    this.objectSize = options?.objectSize;
  }
  readonly retryAfterMs: number | undefined;
  readonly objectSize: number | undefined;
}

/** True for a CacheError (of any copy of this package). */
export function isCacheError(e: unknown, kind?: CacheErrorKind): e is CacheError {
  return typeof e === "object" && e !== null && brand in e && (kind === undefined || (e as CacheError).kind === kind);
}
