import type { IncomingMessage, ServerResponse } from "node:http";
import { gatewayErrors, sendError } from "./http-errors.js";
import { parseRequestTarget } from "./request-target.js";
import { routeOf, type RouteName, type Router } from "./router.js";

/** What admission counts. */
export interface AdmissionMetrics {
  readonly rejected: { inc(): void };
  observe(route: RouteName, method: string, status: number, startedAt: number): void;
}

/** Options of {@link createAdmission}. */
export interface AdmissionOptions {
  /** Requests answered at once beyond this many in flight (GATEWAY_MAX_CONCURRENT_REQUESTS). */
  readonly maxConcurrent: number;
  readonly metrics: AdmissionMetrics;
  readonly router: Router;
}

/**
 * The gateway's front door: a bound on requests in flight (beyond it, 503 with
 * Retry-After and the connection closed), the raw request-target parsed and
 * named, and every answer timed by route once its response closes.
 */
export function createAdmission(options: AdmissionOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { maxConcurrent, metrics, router } = options;
  let inFlight = 0;
  return function admit(req, res) {
    const started = performance.now();
    if (inFlight >= maxConcurrent) {
      metrics.rejected.inc();
      res.setHeader("connection", "close");
      sendError(res, gatewayErrors.overloaded);
      return;
    }
    inFlight++;
    // The raw target, not `new URL()`: that would resolve "..", "%2e%2e" and "\\" before the path is judged.
    const url = parseRequestTarget(req.url);
    // Named before routing: "close" can come before the handler's promise settles.
    const routeName = routeOf(url?.pathname);
    // "on", not "once" (a response closes once): no wrapper per request.
    res.on("close", () => {
      inFlight--;
      metrics.observe(routeName, req.method ?? "", res.statusCode, started);
    });
    router(req, res, url, routeName);
  };
}
