import { CacheError, checkObjectName } from "@breakwater/cache";

/** Where an object request points. */
export interface ObjectPath {
  readonly bucket: string;
  readonly key: string;
}

const PREFIX = "/objects/";

/**
 * Parses `/objects/:bucket/*key` (the query string already cut off). The key
 * is percent-decoded once (so `%2F` is a `/` in the key, and `%252F` stays
 * `%2F`), then bucket and key go through breakwater's one name check
 * (`checkObjectName`: "%2e%2e" is as much a ".." as ".."). `keyMayBeEmpty`
 * admits `/objects/:bucket/` (a PURGE of a whole bucket's prefix). A refused
 * path throws CacheError "invalid-argument" (answered 400). Returns undefined
 * when the path is not under /objects/.
 */
export function parseObjectPath(path: string, options: { keyMayBeEmpty?: boolean } = {}): ObjectPath | undefined {
  if (!path.startsWith(PREFIX)) return undefined;
  const rest = path.slice(PREFIX.length);
  const slash = rest.indexOf("/");
  const prefix = options.keyMayBeEmpty === true;
  if (slash < 0 && !prefix && rest !== "") throw invalid("the object key is empty");
  const bucket = decode(slash < 0 ? rest : rest.slice(0, slash), "bucket");
  const key = slash < 0 ? "" : decode(rest.slice(slash + 1), "key");
  checkObjectName(bucket, key, { prefix });
  return { bucket, key };
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(`the ${what} has a malformed percent-encoding or is not UTF-8`);
  }
}

function invalid(message: string): CacheError {
  return new CacheError("invalid-argument", message);
}
