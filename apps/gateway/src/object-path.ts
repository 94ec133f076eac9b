/** Where an object request points. */
export interface ObjectPath {
  readonly bucket: string;
  readonly key: string;
}

/** Why a path is refused (answered 400). */
export class BadObjectPathError extends Error {
  override readonly name = "BadObjectPathError";
}

const PREFIX = "/objects/";
// Control characters (C0, DEL, C1) have no place in an object key.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// S3's bucket naming rules (3–63 characters; lower-case letters, digits, dots,
// hyphens; a letter or digit at both ends; no "..", not an IPv4 address): what
// S3 would refuse is refused here, without a round trip to a cache-store.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Parses `/objects/:bucket/*key` (the query string already cut off). The key
 * is percent-decoded once (so `%2F` is a `/` in the key, and `%252F` stays
 * `%2F`); `.` and `..` segments, empty keys and control characters are refused.
 * `keyMayBeEmpty` admits `/objects/:bucket/` (a PURGE of a whole bucket's prefix).
 * Returns undefined when the path is not under /objects/.
 */
export function parseObjectPath(path: string, options: { keyMayBeEmpty?: boolean } = {}): ObjectPath | undefined {
  if (!path.startsWith(PREFIX)) return undefined;
  const rest = path.slice(PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash === 0) throw new BadObjectPathError("the bucket is empty");
  if (slash < 0) {
    if (options.keyMayBeEmpty && rest !== "") return { bucket: checkedBucket(decode(rest, "bucket")), key: "" };
    throw new BadObjectPathError(rest === "" ? "the bucket is empty" : "the object key is empty");
  }
  const bucket = checkedBucket(decode(rest.slice(0, slash), "bucket"));
  const rawKey = rest.slice(slash + 1);
  if (rawKey === "") {
    if (options.keyMayBeEmpty) return { bucket, key: "" };
    throw new BadObjectPathError("the object key is empty");
  }
  // Checked after decoding: "%2e%2e" is as much a ".." as "..".
  const key = decode(rawKey, "key");
  for (const segment of key.split("/")) {
    if (segment === ".." || segment === ".") throw new BadObjectPathError('the object key has a "." or ".." segment');
  }
  if (CONTROL.test(key)) throw new BadObjectPathError("the path has control characters");
  if (Buffer.byteLength(key) > 1024) throw new BadObjectPathError("the object key is longer than 1024 bytes");
  return { bucket, key };
}

function checkedBucket(bucket: string): string {
  if (!BUCKET.test(bucket) || bucket.includes("..") || IPV4.test(bucket)) {
    throw new BadObjectPathError("the bucket is not a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)");
  }
  return bucket;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadObjectPathError(`the ${what} has a malformed percent-encoding or is not UTF-8`);
  }
}
