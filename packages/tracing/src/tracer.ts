import { trace } from "@opentelemetry/api";

/**
 * The tracer every breakwater span is made with. Taken once: before the SDK
 * starts it is the API's proxy, which delegates to the provider registered
 * later (and stays the no-op when none is).
 */
export const tracer = trace.getTracer("breakwater");

let sdkStarted = false;

/**
 * Whether `startTracing` started the SDK. Off, a request that brings no
 * `traceparent` has nothing to record or pass on, and the request path skips
 * even the API's no-op calls (they cost a few allocations per request).
 */
export function tracingStarted(): boolean {
  return sdkStarted;
}

/** Called by `startTracing` once the SDK's provider is registered. */
export function markTracingStarted(): void {
  sdkStarted = true;
}
