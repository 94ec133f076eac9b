import { Counter, Histogram, type Registry } from "prom-client";

/** The gateway's request metrics: counts by route and status, latency. */
export function createGatewayMetrics(registry: Registry) {
  const requests = new Counter({
    name: "gateway_http_requests_total",
    help: "HTTP requests answered, by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "gateway_http_request_duration_seconds",
    help: "Time to the end of the response",
    labelNames: ["route", "method"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [registry],
  });
  const rejected = new Counter({
    name: "gateway_http_rejected_total",
    help: "Requests refused with 503 because too many were in flight",
    registers: [registry],
  });
  return {
    rejected,
    observe(route: string, method: string, status: number, startedAt: number): void {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, (performance.now() - startedAt) / 1000);
    },
  };
}
