import { Code, ConnectError } from "@connectrpc/connect";

// S3's bucket naming rules (3–63 characters; lower-case letters, digits, dots,
// hyphens; a letter or digit at both ends; no "..", not an IPv4 address).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Refuses bucket names and keys that S3 would refuse or that could not be a
 * cache key, with INVALID_ARGUMENT and a message a person can act on. Keys are
 * protobuf strings, so already valid UTF-8 (protobuf-es rejects invalid UTF-8
 * when parsing).
 */
export function validateObjectName(bucket: string, key: string, what: "key" | "prefix" = "key"): void {
  if (bucket === "") throw invalid("the bucket is empty");
  if (!BUCKET.test(bucket) || bucket.includes("..") || IPV4.test(bucket)) {
    throw invalid(`bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)`);
  }
  if (what === "key" && key === "") throw invalid("the object key is empty");
  if (Buffer.byteLength(key) > 1024) throw invalid(`the object ${what} is longer than 1024 bytes`);
  if (CONTROL.test(key)) throw invalid(`the object ${what} has control characters`);
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
