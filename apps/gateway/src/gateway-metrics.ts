import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { NearCacheStats } from "./near-cache.js";

/** Where the near-cache metrics are read from at scrape time. */
export interface NearCacheMetricsSource {
  stats(): NearCacheStats;
  /** Per upstream: whether its invalidation stream is live. */
  streams(): { url: string; live: boolean }[];
}

/** How many cache-stores keys are owned among, as this gateway sees them (CACHE_STORE_MEMBERSHIP). */
export function registerMembersGauge(registry: Registry, count: () => number): void {
  new Gauge({
    name: "gateway_cache_store_members",
    help: "Cache-store replicas this gateway routes keys over: CACHE_STORE_URLS and the coordinator's live members",
    registers: [registry],
    collect() {
      this.set(count());
    },
  });
}

/** The gateway's request metrics: counts by route and status, latency; near-cache state when there is one. */
export function createGatewayMetrics(registry: Registry, nearCache?: NearCacheMetricsSource) {
  const answered = createAnsweredRequests(
    (labels, n) => requests.inc(labels, n),
    (labels, seconds) => duration.observe(labels, seconds),
  );
  const requests = new Counter({
    name: "gateway_http_requests_total",
    help: "HTTP requests answered, by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
    // A scrape sees every request answered so far, batched or not.
    collect: answered.flush,
  });
  const duration = new Histogram({
    name: "gateway_http_request_duration_seconds",
    help: "Time to the end of the response",
    labelNames: ["route", "method"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [registry],
    collect: answered.flush,
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
  const upstreamRequests = new Counter({
    name: "gateway_upstream_requests_total",
    help:
      "CacheService calls made for object requests, by route: owner (the key's owner), fallback (a later replica " +
      "in the key's order: the owner's breaker refused or it failed), round-robin (GATEWAY_ROUTING=round-robin)",
    labelNames: ["route"] as const,
    registers: [registry],
  });
  // One child per route, made once: the request path then hashes no labels.
  const byRoute = {
    owner: upstreamRequests.labels("owner"),
    fallback: upstreamRequests.labels("fallback"),
    "round-robin": upstreamRequests.labels("round-robin"),
  };
  if (nearCache !== undefined) registerNearCacheMetrics(registry, nearCache);
  return {
    rejected,
    /** One CacheService call of an object request, by how it reached its replica. */
    upstreamCall(route: "owner" | "fallback" | "round-robin"): void {
      byRoute[route].inc();
    },
    /** `status`: the status answered, or "reset" when the client had gone. */
    clientError(status: string): void {
      clientErrors.inc({ status });
    },
    observe(route: string, method: string, status: number, startedAt: number): void {
      answered.record(route, method, status, (performance.now() - startedAt) / 1000);
    },
  };
}

type TimeLabels = { readonly route: string; readonly method: string };
type CountLabels = TimeLabels & { readonly status: string };
/** The label objects of one route and method: the histogram's, and the counter's per status. */
interface LabelSet {
  readonly time: TimeLabels;
  readonly byStatus: Map<number, CountLabels>;
}

/**
 * Answered requests, written down on the request path and handed to
 * prom-client in one batch per event-loop turn (and whenever `flush` is
 * called): prom-client's inc/observe hash their label objects on every
 * call, which cost ~3 µs a request when done per request under load, about a
 * seventh of the gateway's CPU per near-cache hit (docs/benchmarks.md, suite
 * `gateway`); in a batch they run hot and the counts are added up first.
 * Every request is counted and timed exactly as before, at most one turn later.
 */
function createAnsweredRequests(
  count: (labels: CountLabels, n: number) => void,
  time: (labels: TimeLabels, seconds: number) => void,
) {
  // Parallel arrays rather than an object per request: nothing to collect but the numbers.
  const routes: string[] = [];
  const methods: string[] = [];
  const statuses: number[] = [];
  const seconds: number[] = [];
  let scheduled = false;
  // Label objects made once per label set, found by route then method: no key string is built per request.
  const labelSets = new Map<string, Map<string, LabelSet>>();

  function labelSetOf(route: string, method: string): LabelSet {
    let byMethod = labelSets.get(route);
    if (byMethod === undefined) labelSets.set(route, (byMethod = new Map()));
    let set = byMethod.get(method);
    if (set === undefined) byMethod.set(method, (set = { time: { route, method }, byStatus: new Map() }));
    return set;
  }

  function flush(): void {
    scheduled = false;
    const counts = new Map<CountLabels, number>();
    for (let i = 0; i < routes.length; i++) {
      const set = labelSetOf(routes[i]!, methods[i]!);
      time(set.time, seconds[i]!);
      const status = statuses[i]!;
      let labels = set.byStatus.get(status);
      if (labels === undefined) set.byStatus.set(status, (labels = { ...set.time, status: String(status) }));
      counts.set(labels, (counts.get(labels) ?? 0) + 1);
    }
    routes.length = methods.length = statuses.length = seconds.length = 0;
    for (const [labels, n] of counts) count(labels, n);
  }

  return {
    flush,
    record(route: string, method: string, status: number, elapsedSeconds: number): void {
      routes.push(route);
      methods.push(method);
      statuses.push(status);
      seconds.push(elapsedSeconds);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
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
  gauge(
    "gateway_near_cache_enabled",
    "1 while the near-cache serves (every invalidation stream is live), else 0",
    (s) => (s.enabled ? 1 : 0),
  );
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
  counter(
    "gateway_near_cache_invalidated_total",
    "Copies dropped by invalidations (this gateway's writes and purges, and the streams')",
    (s) => s.invalidated,
  );
  counter(
    "gateway_near_cache_clears_total",
    "Times the near-cache was emptied because an invalidation stream broke",
    (s) => s.clears,
  );
  new Gauge({
    name: "gateway_invalidation_stream_live",
    help: "1 while the WatchInvalidations stream of this upstream is live, else 0",
    labelNames: ["upstream"] as const,
    registers: [registry],
    collect() {
      this.reset(); // an upstream that left the fleet has no stream any more
      for (const s of source.streams()) this.set({ upstream: s.url }, s.live ? 1 : 0);
    },
  });
}
