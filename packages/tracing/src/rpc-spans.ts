import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
} from "@opentelemetry/api";
import { metadataSetter, requestHeadersGetter, type MetadataLike, type RequestHeaders } from "./carriers.js";
import { ATTR_RPC_GRPC_STATUS_CODE, ATTR_RPC_METHOD, ATTR_RPC_SERVICE, ATTR_RPC_SYSTEM } from "./span-attributes.js";
import { carriesContext } from "./carries-context.js";
import { tracer, tracingStarted } from "./tracer.js";

/** What a span of one RPC method needs, worked out once per method rather than per call. */
export interface RpcSpanShape {
  /** "package.Service/Method", the span name the conventions ask for. */
  readonly name: string;
  readonly attributes: Attributes;
  /** The options of a server span of the method (made once: nothing is allocated per call for them). */
  readonly serverOptions: SpanOptions;
}

/** The span name and attributes of calls to `path` ("/package.Service/Method"). */
export function rpcSpanShape(path: string): RpcSpanShape {
  const name = path.replace(/^\//, "");
  const slash = name.lastIndexOf("/");
  const attributes = Object.freeze({
    [ATTR_RPC_SYSTEM]: "grpc",
    [ATTR_RPC_SERVICE]: name.slice(0, slash),
    [ATTR_RPC_METHOD]: name.slice(slash + 1),
  });
  return { name, attributes, serverOptions: Object.freeze({ kind: SpanKind.SERVER, attributes }) };
}

/**
 * The server span of an incoming call, child of the caller's `traceparent`
 * (a root span without one), and the context to run the handler in; undefined
 * when there is nothing to trace or pass on (tracing off: the API's no-op
 * span), so that the handler then runs as if untraced.
 */
export function startRpcServerSpan(
  shape: RpcSpanShape,
  headers: RequestHeaders,
): { span: Span; context: Context } | undefined {
  if (!tracingStarted() && headers.requestHeader("traceparent") === undefined) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, headers, requestHeadersGetter);
  const span = tracer.startSpan(shape.name, shape.serverOptions, parent);
  if (!span.isRecording() && !carriesContext(span)) return undefined;
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * The client span of an outgoing call, when it is made inside a recorded span
 * (a traced request: background streams make none), its trace context written
 * into `metadata` either way (a sampled-out trace goes on, sampled out).
 * Answers the span to end with {@link endRpcSpan}, or undefined.
 */
export function startRpcClientSpan(shape: RpcSpanShape, metadata: MetadataLike): Span | undefined {
  const active = context.active();
  if (!tracingStarted() && active === ROOT_CONTEXT) return undefined; // no context manager: nothing to pass on
  const parent = trace.getSpan(active);
  if (parent === undefined || !parent.isRecording()) {
    propagation.inject(active, metadata, metadataSetter);
    return undefined;
  }
  const span = tracer.startSpan(shape.name, { kind: SpanKind.CLIENT, attributes: shape.attributes }, active);
  propagation.inject(trace.setSpan(active, span), metadata, metadataSetter);
  return span;
}

/**
 * Codes that are the server's fault (span status ERROR); the others (NOT_FOUND,
 * a caller's bad argument, a cancel) are answers, left UNSET as the RPC
 * conventions say for a server span.
 */
const serverFaults = new Set([2, 4, 8, 12, 13, 14, 15]);

/** Ends an RPC span with its gRPC status code. */
export function endRpcSpan(span: Span, code: number, message?: string): void {
  if (!span.isRecording()) return;
  span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, code);
  if (serverFaults.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.end();
}
