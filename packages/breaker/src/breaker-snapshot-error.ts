/**
 * The error a saved breaker state fails with when it cannot be restored
 * (a truncated or hand-edited snapshot file), with the path of the bad value.
 */

const brand = Symbol.for("breakwater.breaker.snapshot-error");

/** A breaker snapshot that does not hold together. */
export class BreakerSnapshotError extends Error {
  readonly [brand] = true;
  override readonly name = "BreakerSnapshotError";
}

/** True for a BreakerSnapshotError (of any copy of this package). */
export function isBreakerSnapshotError(e: unknown): e is BreakerSnapshotError {
  return typeof e === "object" && e !== null && brand in e;
}
