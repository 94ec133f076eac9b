import { CacheError, isCacheError } from "../errors.js";
import type { ObjectMeta } from "../storage.js";

/** The If-Match / If-None-Match of a write. */
export interface WriteCondition {
  readonly ifMatch?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
}

/**
 * Checks a write's condition against the object's current etag, read with
 * `head`, and throws "precondition-failed" when it does not hold.
 *
 * s3rver ignores If-Match / If-None-Match on PutObject, so breakwater checks
 * them itself before writing; the headers still go to storage. Only a store
 * with conditional writes (S3 since 2024, recent MinIO) makes the write atomic:
 * elsewhere a writer between this check and the write can slip through.
 */
export async function checkWriteCondition(condition: WriteCondition, head: () => Promise<ObjectMeta>): Promise<void> {
  let current: string | undefined;
  try {
    current = (await head()).etag;
  } catch (err) {
    if (!isCacheError(err, "not-found")) throw err;
  }
  if (condition.ifNoneMatch !== undefined && etagListMatches(condition.ifNoneMatch, current, "weak")) {
    throw new CacheError("precondition-failed", "If-None-Match: the object exists");
  }
  if (condition.ifMatch !== undefined && !etagListMatches(condition.ifMatch, current, "strong")) {
    throw new CacheError("precondition-failed", "If-Match: the object's etag differs");
  }
}

/**
 * Whether an If-Match / If-None-Match field value ("*" or a list of entity
 * tags) matches the current etag; `undefined` (no object) matches nothing.
 * If-Match compares strongly, If-None-Match weakly (RFC 9110 13.1.1, 13.1.2).
 */
export function etagListMatches(field: string, current: string | undefined, comparison: "strong" | "weak"): boolean {
  if (current === undefined) return false;
  if (field.trim() === "*") return true;
  const opaque = (tag: string): string | undefined => {
    const t = tag.trim();
    const weak = t.startsWith("W/");
    if (weak && comparison === "strong") return undefined;
    // Quotes are optional here: S3 itself drops them when it compares etags.
    return (weak ? t.slice(2) : t).replace(/^"|"$/g, "");
  };
  const have = opaque(current);
  return have !== undefined && field.split(",").some((tag) => opaque(tag) === have);
}
