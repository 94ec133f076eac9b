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
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Parses `/objects/:bucket/*key` (the query string already cut off). The key
 * is percent-decoded once (so `%2F` is a `/` in the key, and `%252F` stays
 * `%2F`); `.` and `..` segments, empty keys and control characters are refused.
 * Returns undefined when the path is not under /objects/.
 */
export function parseObjectPath(path: string): ObjectPath | undefined {
  if (!path.startsWith(PREFIX)) return undefined;
  const rest = path.slice(PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) throw new BadObjectPathError(slash === 0 ? "the bucket is empty" : "the object key is empty");
  const bucket = decode(rest.slice(0, slash), "bucket");
  const rawKey = rest.slice(slash + 1);
  if (rawKey === "") throw new BadObjectPathError("the object key is empty");
  // Checked after decoding: "%2e%2e" is as much a ".." as "..".
  const key = decode(rawKey, "key");
  for (const segment of key.split("/")) {
    if (segment === ".." || segment === ".") throw new BadObjectPathError('the object key has a "." or ".." segment');
  }
  if (CONTROL.test(key) || CONTROL.test(bucket)) throw new BadObjectPathError("the path has control characters");
  if (Buffer.byteLength(key) > 1024) throw new BadObjectPathError("the object key is longer than 1024 bytes");
  return { bucket, key };
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadObjectPathError(`the ${what} has a malformed percent-encoding or is not UTF-8`);
  }
}
