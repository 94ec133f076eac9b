import { CacheError } from "./errors.js";

// S3's bucket naming rules: 3–63 characters of a-z, 0-9, "." and "-", a letter
// or digit at both ends.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
// C0 controls, DEL and C1 controls; and, with the u flag, a lone surrogate
// (a pair is one code point and does not match).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /\p{Surrogate}/u;
/** S3's longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/**
 * The one bucket and key check of breakwater, run by the gateway, CacheService
 * and the S3 adapter so that a name gets the same verdict wherever it enters.
 * A refused name throws CacheError "invalid-argument" (the caller's mistake,
 * never a storage fault) with a message a person can act on.
 *
 * Bucket: S3's rules for new buckets — 3–63 characters of lower-case letters,
 * digits, dots and hyphens, a letter or digit at both ends, no "..", not in
 * the form of an IPv4 address (stores such as s3rver refuse the rest).
 *
 * Key: not empty (a `prefix` may be), at most 1024 UTF-8 bytes (S3's limit),
 * well-formed Unicode (the wire and the store carry UTF-8), no control
 * characters (C0, DEL, C1: they break HTTP headers and logs), and no "." or
 * ".." segment between slashes: HTTP clients remove dot segments from a URL
 * (RFC 3986 5.2.4), so such a key could not be addressed through the gateway.
 */
export function checkObjectName(bucket: string, key: string, options: { readonly prefix?: boolean } = {}): void {
  if (bucket === "") throw invalid("the bucket is empty");
  if (!BUCKET.test(bucket) || bucket.includes("..") || IPV4.test(bucket)) {
    throw invalid(
      `bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name ` +
        "(3-63 lower-case letters, digits, dots, hyphens; not an IPv4 address)",
    );
  }
  const what = options.prefix === true ? "prefix" : "key";
  if (key === "") {
    if (options.prefix === true) return;
    throw invalid("the object key is empty");
  }
  if (utf8Length(key) > MAX_KEY_BYTES) throw invalid(`the object ${what} is longer than ${MAX_KEY_BYTES} bytes`);
  if (CONTROL.test(key)) throw invalid(`the object ${what} has control characters`);
  if (LONE_SURROGATE.test(key)) throw invalid(`the object ${what} is not well-formed Unicode`);
  if (hasDotSegment(key)) throw invalid(`the object ${what} has a "." or ".." segment`);
}

/** UTF-8 bytes of a string, without Node's Buffer (the core stays runtime-neutral). */
function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair: one code point above U+FFFF
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function hasDotSegment(key: string): boolean {
  if (!key.includes(".")) return false;
  for (const segment of key.split("/")) if (segment === "." || segment === "..") return true;
  return false;
}

function invalid(message: string): CacheError {
  return new CacheError("invalid-argument", message);
}
