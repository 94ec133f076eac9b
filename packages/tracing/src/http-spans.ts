import {
  defaultTextMapGetter,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from "@opentelemetry/api";
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from "./span-attributes.js";
import { tracer } from "./tracer.js";

/** Incoming HTTP headers as node:http gives them (lower-case names). */
export type IncomingHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The server span of an incoming HTTP request, child of the client's
 * `traceparent` (with its `tracestate`) or a root span, named
 * "METHOD route" (`route` is the template, e.g. "/objects/{bucket}/{key}"),
 * and the context to answer the request in.
 */
export function startHttpServerSpan(
  method: string,
  route: string,
  path: string,
  headers: IncomingHeaders,
): { span: Span; context: Context } {
  const parent = propagation.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  const span = tracer.startSpan(
    `${method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_HTTP_ROUTE]: route, [ATTR_URL_PATH]: path },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends an HTTP server span with the status sent; 5xx is an error (4xx is the client's, per the conventions). */
export function endHttpServerSpan(span: Span, status: number): void {
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
