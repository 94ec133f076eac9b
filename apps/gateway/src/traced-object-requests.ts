import { context } from "@opentelemetry/api";
import { endHttpServerSpan, startHttpServerSpan } from "@breakwater/tracing";
import type { ObjectHandler } from "./router.js";

/** The route template object requests are traced under (http.route): one span name for every key. */
const OBJECT_ROUTE = "/objects/{bucket}/{key}";

/**
 * The object API with a server span per request, child of the client's
 * `traceparent`: the request is answered in the span's context, so the
 * CacheService call carries it on and the lines logged for the request carry
 * its trace id. The span ends when the answer is sent (or the client left).
 * With tracing off the span is the API's no-op and no listener is added.
 */
export function traceObjectRequests(handle: ObjectHandler): ObjectHandler {
  return (req, res, pathname, query) => {
    const method = req.method ?? "GET";
    const { span, context: spanContext } = startHttpServerSpan(method, OBJECT_ROUTE, pathname, req.headers);
    if (span.isRecording()) res.once("close", () => endHttpServerSpan(span, res.statusCode));
    return context.with(spanContext, handle, undefined, req, res, pathname, query);
  };
}
