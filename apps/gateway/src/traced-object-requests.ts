import { context } from "@opentelemetry/api";
import { endHttpServerSpan, httpServerSpans } from "@breakwater/tracing";
import type { ObjectHandler } from "./router.js";

/**
 * The object API with a server span per request, child of the client's
 * `traceparent`: the request is answered in the span's context, so the
 * CacheService call carries it on and the lines logged for the request carry
 * its trace id. The span ends when the answer is sent (or the client left).
 * With tracing off the request goes straight to `handle` after two no-op API
 * calls (docs/benchmarks.md, suite `tracing`).
 */
export function traceObjectRequests(handle: ObjectHandler): ObjectHandler {
  const spans = httpServerSpans("/objects/{bucket}/{key}");
  return (req, res, pathname, query) => {
    const traced = spans.start(req.method ?? "GET", pathname, req.headers);
    if (traced === undefined) return handle(req, res, pathname, query);
    res.once("close", () => endHttpServerSpan(traced.span, res.statusCode));
    return context.with(traced.context, () => handle(req, res, pathname, query));
  };
}
