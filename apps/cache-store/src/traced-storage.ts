import { context, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { isCacheError, type ObjectStorage } from "@breakwater/cache";
import {
  ATTR_OBJECT_BUCKET,
  ATTR_OBJECT_KEY,
  ATTR_STORAGE_BACKEND,
  ATTR_STORAGE_OPERATION,
  ATTR_STORAGE_OUTCOME,
  tracer,
} from "@breakwater/tracing";

/** Storage operations as the spans name them. */
type Operation = "get" | "head" | "put" | "delete";

/**
 * Wraps the storage the cache reads through so that, inside a traced
 * request, each storage call is a client span ("s3.get", …, with the store in
 * `breakwater.storage.backend`) and the storage
 * client's own request (the S3 SDK's, with `traceparent` in its headers) runs
 * in it. Outside a recorded span, or with tracing off, a call goes straight
 * through. A get's span ends when storage answered, not while its body
 * streams (as `storage_request_duration_seconds` times it).
 */
export function createTracedStorage(storage: ObjectStorage): ObjectStorage {
  const backend = storage.backend;
  // "s3:http://host:9000" names the store; the span name takes its kind only ("s3.get").
  const kind = backend.split(":")[0];

  function traced<T>(
    operation: Operation,
    bucket: string,
    key: string,
    call: () => Promise<T>,
    outcomeOf: (value: T) => string = () => "ok",
  ): Promise<T> {
    const parent = context.active();
    if (trace.getSpan(parent)?.isRecording() !== true) return call();
    const span = tracer.startSpan(
      `${kind}.${operation}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_STORAGE_BACKEND]: backend,
          [ATTR_STORAGE_OPERATION]: operation,
          [ATTR_OBJECT_BUCKET]: bucket,
          [ATTR_OBJECT_KEY]: key,
        },
      },
      parent,
    );
    return context.with(trace.setSpan(parent, span), () => settle(span, call(), outcomeOf));
  }

  return {
    backend,
    get: (bucket, key, options) =>
      traced(
        "get",
        bucket,
        key,
        () => storage.get(bucket, key, options),
        (r) => (r.kind === "not-modified" ? "not_modified" : "ok"),
      ),
    head: (bucket, key, options) => traced("head", bucket, key, () => storage.head(bucket, key, options)),
    put: (bucket, key, body, options) => traced("put", bucket, key, () => storage.put(bucket, key, body, options)),
    delete: (bucket, key, options) => traced("delete", bucket, key, () => storage.delete(bucket, key, options)),
  };
}

/** Ends `span` with how the call ended: its outcome, and ERROR when storage failed. */
async function settle<T>(span: Span, pending: Promise<T>, outcomeOf: (value: T) => string): Promise<T> {
  try {
    const value = await pending;
    span.setAttribute(ATTR_STORAGE_OUTCOME, outcomeOf(value));
    return value;
  } catch (err) {
    const kind = isCacheError(err) ? err.kind : undefined;
    span.setAttribute(ATTR_STORAGE_OUTCOME, kind === undefined ? "error" : kind.replaceAll("-", "_"));
    // Storage's own failure; a 404, a failed precondition or a cancel is an answer.
    if (kind === undefined || kind === "unavailable") {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
    }
    throw err;
  } finally {
    span.end();
  }
}
