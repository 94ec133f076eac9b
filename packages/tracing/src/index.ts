/**
 * breakwater's tracing: W3C trace context across the hops (HTTP, gRPC
 * metadata, S3 request headers) with OpenTelemetry. Code on the request path
 * uses the API only, whose no-op default costs next to nothing; the SDK starts
 * when an OTEL_* variable asks for traces (`startTracing`, from main.ts).
 */
export { startTracing, type Tracing, type StartTracingOptions } from "./start-tracing.js";
export { tracesExportersOf, TracingConfigError, type TracesExporter } from "./traces-exporter.js";
export { tracer } from "./tracer.js";
export { traceFields, type TraceFields } from "./log-trace-fields.js";
export {
  requestHeadersGetter,
  metadataSetter,
  headerRecordSetter,
  type RequestHeaders,
  type MetadataLike,
} from "./carriers.js";
export { rpcSpanShape, startRpcServerSpan, startRpcClientSpan, endRpcSpan, type RpcSpanShape } from "./rpc-spans.js";
export { httpServerSpans, endHttpServerSpan, type HttpServerSpan, type IncomingHeaders } from "./http-spans.js";
export {
  ATTR_OBJECT_BUCKET,
  ATTR_OBJECT_KEY,
  ATTR_STORAGE_BACKEND,
  ATTR_STORAGE_OPERATION,
  ATTR_STORAGE_OUTCOME,
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_RPC_METHOD,
  ATTR_RPC_SERVICE,
  ATTR_RPC_SYSTEM,
} from "./span-attributes.js";
