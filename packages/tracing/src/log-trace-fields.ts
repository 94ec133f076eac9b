import { isSpanContextValid, trace } from "@opentelemetry/api";

/** The fields a log line carries inside a traced request. */
export interface TraceFields {
  readonly trace_id?: string;
  readonly span_id?: string;
}

const none: TraceFields = Object.freeze({});

/**
 * `trace_id` and `span_id` of the span active where a line is logged (pino's
 * `mixin`), so every line of a request can be found from its trace and back.
 * Empty outside a span, and always with tracing off (the no-op context has none).
 */
export function traceFields(): TraceFields {
  const span = trace.getActiveSpan();
  if (span === undefined) return none;
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : none;
}
