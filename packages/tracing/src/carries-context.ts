import { INVALID_SPAN_CONTEXT, isSpanContextValid, type Span } from "@opentelemetry/api";

/**
 * Whether a span that records nothing still has a context to pass on (an SDK
 * span sampled out, or a caller's): not the API's no-op span. The no-op's
 * context is one shared object, compared first, so tracing off costs no
 * validity check per request.
 */
export function carriesContext(span: Span): boolean {
  const sc = span.spanContext();
  return sc !== INVALID_SPAN_CONTEXT && isSpanContextValid(sc);
}
