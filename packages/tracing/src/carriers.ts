import type { TextMapGetter, TextMapSetter } from "@opentelemetry/api";

/** What the propagator reads incoming trace context from: a gRPC call's metadata (server-kit's CallContext). */
export interface RequestHeaders {
  /** A request header by lower-case name; the first value. */
  requestHeader(name: string): string | undefined;
}

/** What the propagator writes outgoing trace context to: grpc-js Metadata (or anything with `set`). */
export interface MetadataLike {
  set(key: string, value: string): void;
}

/**
 * Reads `traceparent`/`tracestate`/`baggage` from a call's request metadata.
 * `keys` is only used by propagators that enumerate (W3C ones ask by name).
 */
export const requestHeadersGetter: TextMapGetter<RequestHeaders> = {
  get: (carrier, key) => carrier.requestHeader(key.toLowerCase()),
  keys: () => [],
};

/** Writes trace context into outgoing gRPC metadata; keys are lower case, as gRPC requires. */
export const metadataSetter: TextMapSetter<MetadataLike> = {
  set: (carrier, key, value) => carrier.set(key.toLowerCase(), value),
};

/**
 * Writes trace context into a plain header record (the AWS SDK's request
 * headers). The default setter of the API does the same; named here so the
 * carrier each hop uses is explicit.
 */
export const headerRecordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => void (carrier[key] = value),
};
