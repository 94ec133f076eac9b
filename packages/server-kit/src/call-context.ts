/**
 * breakwater's own per-call context, the one thing service code sees of the
 * transport. It is small on purpose: connect's per-call context (web Headers,
 * an AbortController per call) is much of its cost, so the grpc-js mount makes
 * each part lazily (design.md "Stack").
 */
export interface CallContext {
  /** "/package.Service/Method". */
  readonly method: string;
  /** Aborts when the caller cancels, the deadline passes or the server shuts down. */
  readonly signal: AbortSignal;
  /** Deadline as epoch milliseconds, or undefined when the caller set none. */
  readonly deadline: number | undefined;
  /** A request header (gRPC metadata) by lower-case name; the first value. */
  requestHeader(name: string): string | undefined;
  /** The subject CN of the client certificate the mTLS handshake verified; undefined without one. */
  peerName(): string | undefined;
  /** Adds a response header; for streams, before the first message. */
  setResponseHeader(name: string, value: string): void;
  /** Adds a response trailer (sent with the status, errors included). */
  setResponseTrailer(name: string, value: string): void;
}

/** A context for calling service code directly, in tests or in-process. */
export function createCallContext(init: {
  method?: string;
  signal?: AbortSignal;
  deadline?: number;
  headers?: Record<string, string>;
  peerName?: string;
}): CallContext & { readonly responseHeaders: Map<string, string>; readonly responseTrailers: Map<string, string> } {
  const responseHeaders = new Map<string, string>();
  const responseTrailers = new Map<string, string>();
  const headers = new Map(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: init.method ?? "/test/Call",
    signal: init.signal ?? new AbortController().signal,
    deadline: init.deadline,
    requestHeader: (name) => headers.get(name.toLowerCase()),
    peerName: () => init.peerName,
    setResponseHeader: (name, value) => void responseHeaders.set(name.toLowerCase(), value),
    setResponseTrailer: (name, value) => void responseTrailers.set(name.toLowerCase(), value),
    responseHeaders,
    responseTrailers,
  };
}
