/**
 * The error of a call a coordinated breaker refused: the backend was not
 * touched. Apps map it at their boundary (UNAVAILABLE with retry-after-ms,
 * HTTP 503 with Retry-After).
 */

const brand = Symbol.for("breakwater.breaker.open-error");

/** A call refused by an open (or half-open) breaker, with when to try again. */
export class BreakerOpenError extends Error {
  readonly [brand] = true;
  override readonly name = "BreakerOpenError";

  constructor(
    /** The breaker that refused, e.g. `s3:http://minio:9000`. */
    readonly breaker: string,
    /** The state that refused. */
    readonly state: "open" | "half-open",
    /** When trying again may help, in ms from when the call was refused. */
    readonly retryAfterMs: number,
  ) {
    super(`breaker ${breaker} is ${state}; retry after ${retryAfterMs} ms`);
  }
}

/** True for a BreakerOpenError (of any copy of this package). */
export function isBreakerOpenError(e: unknown): e is BreakerOpenError {
  return typeof e === "object" && e !== null && brand in e;
}
