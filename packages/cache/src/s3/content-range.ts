import { CacheError } from "../errors.js";
import type { RangeRequest, ResolvedRange } from "../storage.js";

/**
 * The Range header for a request (RFC 9110 14.1.2): `bytes=a-b`, `bytes=a-` or
 * `bytes=-n`. A malformed request is the caller's mistake (invalid-argument).
 */
export function rangeHeader(range: RangeRequest): string {
  if ("suffix" in range) {
    if (!Number.isSafeInteger(range.suffix) || range.suffix < 0) {
      throw new CacheError("invalid-argument", `range suffix must be a non-negative integer, got ${range.suffix}`);
    }
    return `bytes=-${range.suffix}`;
  }
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new CacheError("invalid-argument", `range start must be a non-negative integer, got ${start}`);
  }
  if (end === undefined) return `bytes=${start}-`;
  if (!Number.isSafeInteger(end) || end < start) {
    throw new CacheError("invalid-argument", `range end must be an integer ≥ start (${start}), got ${end}`);
  }
  return `bytes=${start}-${end}`;
}

/** A parsed Content-Range: the bytes sent and the whole object's size. */
export interface ContentRange extends ResolvedRange {
  readonly size: number;
}

/** Parses `bytes a-b/size` (RFC 9110 14.4); undefined for `*` sizes or anything malformed. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  const m = value === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value.trim());
  if (m === null) return undefined;
  const [start, end, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![start, end, size].every(Number.isSafeInteger) || end < start) return undefined;
  return { start, end, size };
}

/**
 * The bytes a request must yield from an object of `size` bytes, or undefined
 * when the range is unsatisfiable (RFC 9110 14.1.2: a first position at or past
 * the end; a suffix of 0; any range of an empty object).
 */
export function expectedRange(range: RangeRequest, size: number): ResolvedRange | undefined {
  if (size === 0) return undefined;
  if ("suffix" in range) {
    if (range.suffix === 0) return undefined;
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size) return undefined;
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}
