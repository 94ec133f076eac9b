import { CacheError } from "../errors.js";

// An HTTP field name (RFC 9110 5.6.2 token): x-amz-meta-<name> is a header.
const metadataName = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
// S3 takes user metadata values as printable US-ASCII in REST headers.
const metadataValue = /^[\x20-\x7e]*$/;

/** Rejects user metadata that cannot travel as x-amz-meta-* headers. */
export function checkMetadata(metadata: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(metadata)) {
    if (!metadataName.test(name))
      throw new CacheError("invalid-argument", `metadata name "${name}" is not an HTTP token`);
    if (!metadataValue.test(value)) {
      throw new CacheError("invalid-argument", `metadata "${name}" must be printable US-ASCII`);
    }
  }
}
