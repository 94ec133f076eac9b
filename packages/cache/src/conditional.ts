/**
 * Conditional reads (RFC 9110 13.1.2 If-None-Match, 13.1.3 If-Modified-Since)
 * evaluated against an object's metadata, so that the cache can answer "not
 * modified" without touching storage.
 */
import type { ObjectMeta } from "./storage.js";

/** An entity tag split into its weakness flag and opaque tag (RFC 9110 8.8.3). */
export interface EntityTag {
  readonly weak: boolean;
  /** The tag between the quotes. */
  readonly opaque: string;
}

/** The preconditions of a read. */
export interface ReadConditions {
  /** An If-None-Match field value: `*` or a comma-separated list of entity tags. */
  readonly ifNoneMatch?: string | undefined;
  /** If-Modified-Since; ignored when `ifNoneMatch` is present. */
  readonly ifModifiedSince?: Date | undefined;
}

/**
 * Parses one entity tag (`"x"` or `W/"x"`); undefined when malformed. Storage
 * etags go through here too, so both sides compare the same way.
 */
export function parseEntityTag(value: string): EntityTag | undefined {
  const tags = parseList(value.trim());
  return tags.length === 1 && tags[0]!.end === value.trim().length ? tags[0]!.tag : undefined;
}

/**
 * Parses an If-None-Match value: `"*"`, or the well-formed entity tags of the
 * list (malformed members are skipped: they can never match).
 */
export function parseIfNoneMatch(value: string): "*" | EntityTag[] {
  const trimmed = value.trim();
  if (trimmed === "*") return "*";
  return parseList(trimmed).map((t) => t.tag);
}

/** RFC 9110 8.8.3.2 weak comparison: the opaque tags match, weakness aside. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/**
 * True when If-None-Match holds false for this object, i.e. a GET or HEAD is
 * to be answered "not modified": `*` (the object exists) or a listed tag that
 * weakly matches its etag.
 */
export function ifNoneMatchFails(ifNoneMatch: string, etag: string): boolean {
  const wanted = parseIfNoneMatch(ifNoneMatch);
  if (wanted === "*") return true;
  const current = parseEntityTag(etag);
  if (current === undefined) return false;
  return wanted.some((tag) => weakMatch(tag, current));
}

/**
 * Whether a read with these conditions is answered "not modified" (RFC 9110
 * 13.2.2 order: If-None-Match, else If-Modified-Since).
 */
export function isNotModified(conditions: ReadConditions, meta: ObjectMeta): boolean {
  if (conditions.ifNoneMatch !== undefined) return ifNoneMatchFails(conditions.ifNoneMatch, meta.etag);
  const since = conditions.ifModifiedSince?.getTime();
  const modified = meta.lastModified.getTime();
  // RFC 9110 13.1.3: an invalid date is ignored. HTTP dates have one-second
  // resolution, so compare whole seconds.
  if (since === undefined || Number.isNaN(since) || Number.isNaN(modified)) return false;
  return Math.floor(modified / 1000) <= Math.floor(since / 1000);
}

interface Parsed {
  readonly tag: EntityTag;
  /** Offset just past the closing quote. */
  readonly end: number;
}

/** Scans `#entity-tag` (RFC 9110 5.6.1 list, 8.8.3 entity-tag). */
function parseList(s: string): Parsed[] {
  const out: Parsed[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "," || c === " " || c === "\t") {
      i++;
      continue;
    }
    let weak = false;
    let j = i;
    if (s.startsWith("W/", j)) {
      weak = true;
      j += 2;
    }
    const close = s[j] === '"' ? s.indexOf('"', j + 1) : -1;
    const opaque = close < 0 ? undefined : s.slice(j + 1, close);
    const next = close < 0 ? s.length : close + 1;
    // A member must end at a comma, whitespace or the end of the field.
    const clean = next === s.length || s[next] === "," || s[next] === " " || s[next] === "\t";
    if (opaque !== undefined && clean && isEtagChars(opaque)) {
      out.push({ tag: { weak, opaque }, end: next });
      i = next;
    } else {
      // Malformed member: skip to the next comma.
      const comma = s.indexOf(",", i + 1);
      i = comma < 0 ? s.length : comma + 1;
    }
  }
  return out;
}

/** etagc = %x21 / %x23-7E / obs-text */
function isEtagChars(s: string): boolean {
  for (let k = 0; k < s.length; k++) {
    const code = s.charCodeAt(k);
    if (code < 0x21 || code === 0x22 || code === 0x7f || code > 0xff) return false;
  }
  return true;
}
