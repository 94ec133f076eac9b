import { CacheError, isCacheError } from "../errors.js";

/** What an S3 SDK error or a Node network error may carry. */
interface S3ErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly ActualObjectSize?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number | undefined } | undefined;
}

/** Node's codes for a connection that failed, dropped or timed out. */
const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);

/** The HTTP status of an SDK error, when the store answered at all. */
export function sdkHttpStatus(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  return (err as S3ErrorShape).$metadata?.httpStatusCode;
}

/**
 * A conditional GET that storage answered 304. The SDK has no type for it: it
 * throws an error whose name may be "Unknown" (design.md, Known traps).
 */
export function storageSaidNotModified(err: unknown): boolean {
  return sdkHttpStatus(err) === 304;
}

/**
 * The one place where S3 and network failures become CacheErrors. `what` names
 * the call for the message ("get default/a.txt"); the original error stays the
 * cause. An abort of `signal` wins over whatever error it provoked.
 */
export function toCacheError(err: unknown, what: string, signal?: AbortSignal): CacheError {
  if (isCacheError(err)) return err;
  if (signal?.aborted) return new CacheError("cancelled", `${what}: cancelled`, { cause: err });
  const e = (typeof err === "object" && err !== null ? err : {}) as S3ErrorShape;
  const name = typeof e.Code === "string" ? e.Code : typeof e.name === "string" ? e.name : "";
  const code = typeof e.code === "string" ? e.code : "";
  const status = e.$metadata?.httpStatusCode;
  const fail = (kind: CacheError["kind"], text: string, objectSize?: number): CacheError =>
    new CacheError(kind, `${what}: ${text}`, { cause: err, objectSize });

  // The SDK's AbortError without our signal aborted: someone else cancelled the call.
  if (name === "AbortError") return fail("cancelled", "cancelled");
  // The request timeout of the HTTP handler, or a socket idle too long.
  if (name === "TimeoutError" || name === "RequestTimeout" || name === "RequestTimeoutException") {
    return fail("unavailable", "storage timed out");
  }
  // No answer at all: refused, reset, unreachable, cut off mid-body.
  if (networkCodes.has(code)) return fail("unavailable", "storage unreachable");
  // Not an answer of the store (no HTTP status): a failure on the way to it.
  if (status === undefined) return fail("unavailable", "storage failed");
  // A missing bucket is a missing object to the cache (and stays out of the breaker).
  if (name === "NoSuchBucket") return fail("not-found", "no such bucket");
  // The key does not exist (GetObject NoSuchKey; HeadObject has no body, so only "NotFound" / 404).
  if (name === "NoSuchKey" || name === "NotFound" || status === 404) return fail("not-found", "no such object");
  // A bucket name the store refuses (e.g. s3rver's 3–63 characters).
  if (name === "InvalidBucketName" || name === "KeyTooLongError")
    return fail("invalid-argument", "invalid bucket or key");
  // Range beyond the object (416); S3 reports the size in the error body.
  if (name === "InvalidRange" || status === 416) {
    const size = Number(e.ActualObjectSize);
    return fail("range-not-satisfiable", "range not satisfiable", Number.isSafeInteger(size) ? size : undefined);
  }
  // If-Match / If-None-Match did not hold (412), or, on a GET/HEAD, storage said 304.
  if (name === "PreconditionFailed" || status === 412 || status === 304)
    return fail("precondition-failed", "precondition failed");
  // S3's 409 for two conditional writes racing on one key: the condition could not be upheld.
  if (name === "ConditionalRequestConflict") return fail("precondition-failed", "conditional write conflict");
  // Throttling (429 / SlowDown) and every 5xx: the store is struggling.
  if (status === 429 || name === "SlowDown" || status >= 500) {
    return fail("unavailable", `storage answered ${status}`);
  }
  // Credentials refused or clock skew (401/403): storage is unusable until an operator acts;
  // unavailable lets the cache serve stale copies meanwhile.
  if (status === 401 || status === 403) return fail("unavailable", `storage refused access (${status})`);
  // A method the store does not implement (405, 501 is a 5xx above).
  if (status === 405) return fail("unavailable", "storage does not support this call");
  // Any other 4xx: the request itself was wrong.
  if (status >= 400 && status < 500) return fail("invalid-argument", `storage rejected the request (${status})`);
  // Any other status where an error was expected (e.g. a 3xx redirect to another region).
  return fail("unavailable", `storage answered ${status}`);
}
