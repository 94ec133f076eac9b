/**
 * Byte ranges as RFC 9110 14.1.2 defines them: `first-last`, `first-` and the
 * suffix `-length`, resolved against an object's size.
 */
import { CacheError } from "./errors.js";
import type { RangeRequest, ResolvedRange } from "./storage.js";

/**
 * Rejects a range that no object could satisfy because it is malformed
 * (negative or fractional numbers, last before first): the caller's mistake,
 * checked before any storage call.
 */
export function validateRange(range: RangeRequest): void {
  if ("suffix" in range) {
    if (!isOffset(range.suffix)) throw invalid(`suffix length ${String(range.suffix)}`);
    return;
  }
  if (!isOffset(range.start)) throw invalid(`first byte ${String(range.start)}`);
  if (range.end === undefined) return;
  if (!isOffset(range.end)) throw invalid(`last byte ${String(range.end)}`);
  // RFC 9110 14.1.1: a last-pos below first-pos makes the range-spec invalid.
  if (range.end < range.start) throw invalid(`last byte ${range.end} before first byte ${range.start}`);
}

/**
 * The bytes of an object of `size` bytes that `range` selects, or a
 * CacheError "range-not-satisfiable" carrying the size when there are none.
 */
export function resolveRange(range: RangeRequest, size: number): ResolvedRange {
  validateRange(range);
  if ("suffix" in range) {
    // RFC 9110 14.1.2: a zero suffix-length never overlaps; a suffix longer
    // than the object selects all of it (and nothing when it is empty).
    if (range.suffix === 0 || size === 0) throw unsatisfiable(size);
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  // RFC 9110 14.1.2: first-pos at or past the end does not overlap; a
  // last-pos past the end is clamped to the last byte.
  if (range.start >= size) throw unsatisfiable(size);
  const end = range.end === undefined ? size - 1 : Math.min(range.end, size - 1);
  return { start: range.start, end };
}

/** Number of bytes a resolved range covers. */
export function rangeLength(range: ResolvedRange): number {
  return range.end - range.start + 1;
}

function isOffset(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function invalid(what: string): CacheError {
  return new CacheError("invalid-argument", `invalid byte range: ${what}`);
}

function unsatisfiable(size: number): CacheError {
  return new CacheError("range-not-satisfiable", "the range does not overlap the object", { objectSize: size });
}
