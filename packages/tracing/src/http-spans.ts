import {
  defaultTextMapGetter,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type SpanOptions,
} from "@opentelemetry/api";
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from "./span-attributes.js";
import { carriesContext } from "./carries-context.js";
import { tracer, tracingStarted } from "./tracer.js";

/** Incoming HTTP headers as node:http gives them (lower-case names). */
export type IncomingHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** An HTTP server span and the context to answer its request in. */
export interface HttpServerSpan {
  readonly span: Span;
  readonly context: Context;
}

const serverSpan: SpanOptions = Object.freeze({ kind: SpanKind.SERVER });
/** The methods named in span names; others are "HTTP" (semantic conventions: unknown methods are "_OTHER"). */
const knownMethods = new Set(["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "PURGE"]);

/**
 * The server spans of one route, named "METHOD route" (`route` is the
 * template, e.g. "/objects/{bucket}/{key}"): `start` makes a request's span,
 * child of the client's `traceparent` (with its `tracestate`) or a root.
 * It answers undefined when there is nothing to trace or pass on: tracing is
 * off (the API's no-op span, no incoming context). The request is then
 * answered as if no tracing code were there; that is all tracing costs when
 * off.
 */
export function httpServerSpans(route: string): {
  start(method: string, path: string, headers: IncomingHeaders): HttpServerSpan | undefined;
} {
  const names = new Map([...knownMethods].map((m) => [m, `${m} ${route}`]));
  const other = `HTTP ${route}`;
  return {
    start(method, path, headers) {
      if (!tracingStarted() && headers["traceparent"] === undefined) return undefined;
      const parent = propagation.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      const span = tracer.startSpan(names.get(method) ?? other, serverSpan, parent);
      if (!span.isRecording()) {
        // Sampled out: the context still goes on (flags 00), so the next hops do not sample it in.
        return carriesContext(span) ? { span, context: trace.setSpan(parent, span) } : undefined;
      }
      span.setAttributes({
        [ATTR_HTTP_REQUEST_METHOD]: knownMethods.has(method) ? method : "_OTHER",
        [ATTR_HTTP_ROUTE]: route,
        [ATTR_URL_PATH]: path,
      });
      return { span, context: trace.setSpan(parent, span) };
    },
  };
}

/** Ends an HTTP server span with the status sent; 5xx is an error (4xx is the client's, per the conventions). */
export function endHttpServerSpan(span: Span, status: number): void {
  if (!span.isRecording()) return;
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
