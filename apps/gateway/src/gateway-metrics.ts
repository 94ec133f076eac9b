import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { NearCacheStats } from "./near-cache.js";

/** Where the near-cache metrics are read from at scrape time. */
export interface NearCacheMetricsSource {
  stats(): NearCacheStats;
  /** Per upstream: whether its invalidation stream is live. */
  streams(): { url: string; live: boolean }[];
}

/** The gateway's request metrics: counts by route and status, latency; near-cache state when there is one. */
export function createGatewayMetrics(registry: Registry, nearCache?: NearCacheMetricsSource) {
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
  const clientErrors = new Counter({
    name: "gateway_http_client_errors_total",
    help: "Connections answered or cut at the HTTP parser (malformed requests, oversized headers, timeouts), by status",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  if (nearCache !== undefined) registerNearCacheMetrics(registry, nearCache);
  return {
    rejected,
    /** `status`: the status answered, or "reset" when the client had gone. */
    clientError(status: string): void {
      clientErrors.inc({ status });
    },
    observe(route: string, method: string, status: number, startedAt: number): void {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, (performance.now() - startedAt) / 1000);
    },
  };
}

function registerNearCacheMetrics(registry: Registry, source: NearCacheMetricsSource): void {
  const gauge = (name: string, help: string, read: (s: NearCacheStats) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(source.stats()));
      },
    });
  };
  gauge("gateway_near_cache_enabled", "1 while the near-cache serves (every invalidation stream is live), else 0", (s) => (s.enabled ? 1 : 0));
  gauge("gateway_near_cache_entries", "Objects held in the near-cache", (s) => s.entries);
  gauge("gateway_near_cache_bytes", "Bytes held in the near-cache, bodies plus per-entry overhead", (s) => s.bytes);
  // Counted inside the near-cache; at scrape time the counters catch up with it.
  const counter = (name: string, help: string, read: (s: NearCacheStats) => number): void => {
    let seen = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = read(source.stats());
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  };
  counter("gateway_near_cache_hits_total", "Reads answered from the near-cache", (s) => s.hits);
  counter("gateway_near_cache_misses_total", "Reads the near-cache could not answer while enabled", (s) => s.misses);
  counter("gateway_near_cache_fills_total", "Copies stored in the near-cache", (s) => s.fills);
  counter("gateway_near_cache_invalidated_total", "Copies dropped by invalidations (this gateway's writes and purges, and the streams')", (s) => s.invalidated);
  counter("gateway_near_cache_clears_total", "Times the near-cache was emptied because an invalidation stream broke", (s) => s.clears);
  new Gauge({
    name: "gateway_invalidation_stream_live",
    help: "1 while the WatchInvalidations stream of this upstream is live, else 0",
    labelNames: ["upstream"] as const,
    registers: [registry],
    collect() {
      for (const s of source.streams()) this.set({ upstream: s.url }, s.live ? 1 : 0);
    },
  });
}
