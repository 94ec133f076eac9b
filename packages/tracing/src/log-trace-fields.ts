import { isSpanContextValid, trace } from "@opentelemetry/api";

/** The fields a log line carries inside a traced request. */
export interface TraceFields {
  readonly trace_id?: string;
  readonly span_id?: string;
}

/**
 * `trace_id` and `span_id` of the span active where a line is logged (pino's
 * `mixin`), so every line of a request can be found from its trace and back.
 * Empty outside a span, and always with tracing off (the no-op context has none).
 * A new object each call: pino merges the line's own fields into it.
 */
export function traceFields(): TraceFields {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}
