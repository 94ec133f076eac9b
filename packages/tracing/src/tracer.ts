import { trace } from "@opentelemetry/api";

/**
 * The tracer every breakwater span is made with. Taken once: before the SDK
 * starts it is the API's proxy, which delegates to the provider registered
 * later (and stays the no-op when none is).
 */
export const tracer = trace.getTracer("breakwater");
