import { CacheError } from "../errors.js";

// S3's rules for new buckets: 3–63 characters of a-z, 0-9, "." and "-",
// starting and ending with a letter or digit. Stores such as s3rver refuse
// anything else, and a bad name is the caller's mistake, not a storage fault.
const bucketName = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3's longest key, in UTF-8 bytes. */
const maxKeyBytes = 1024;

/** Rejects a bucket or key that no S3 store takes, before a request is made. */
export function checkObjectName(bucket: string, key: string): void {
  if (!bucketName.test(bucket)) {
    throw new CacheError("invalid-argument", `bucket "${bucket}" is not a valid S3 bucket name (3–63 of a-z 0-9 . -)`);
  }
  if (key.length === 0) throw new CacheError("invalid-argument", "key must not be empty");
  if (Buffer.byteLength(key, "utf8") > maxKeyBytes) {
    throw new CacheError("invalid-argument", `key is longer than ${maxKeyBytes} bytes`);
  }
}

// An HTTP field name (RFC 9110 5.6.2 token): x-amz-meta-<name> is a header.
const metadataName = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
// S3 takes user metadata values as printable US-ASCII in REST headers.
const metadataValue = /^[\x20-\x7e]*$/;

/** Rejects user metadata that cannot travel as x-amz-meta-* headers. */
export function checkMetadata(metadata: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(metadata)) {
    if (!metadataName.test(name)) throw new CacheError("invalid-argument", `metadata name "${name}" is not an HTTP token`);
    if (!metadataValue.test(value)) {
      throw new CacheError("invalid-argument", `metadata "${name}" must be printable US-ASCII`);
    }
  }
}
