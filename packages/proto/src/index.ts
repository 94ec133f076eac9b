/**
 * Generated message and service types of breakwater's contracts (protoc-gen-es
 * v2, `npm run generate`). Only this file is written by hand.
 */
export * as cacheV1 from "./gen/breakwater/cache/v1/cache_pb.js";
export * as breakerV1 from "./gen/breakwater/breaker/v1/coordinator_pb.js";
export * as healthV1 from "./gen/grpc/health/v1/health_pb.js";
export * as testingV1 from "./gen/breakwater/testing/v1/echo_pb.js";
export * as reflectionV1 from "./gen/grpc/reflection/v1/reflection_pb.js";
export * as reflectionV1alpha from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
/** OTLP (opentelemetry-proto v1.11.0, vendored): the trace export request, for tests that receive real exports. */
export * as otlpTraceServiceV1 from "./gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
export * as otlpTraceV1 from "./gen/opentelemetry/proto/trace/v1/trace_pb.js";
export * as otlpCommonV1 from "./gen/opentelemetry/proto/common/v1/common_pb.js";
