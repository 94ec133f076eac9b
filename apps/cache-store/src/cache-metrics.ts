import { Gauge, type Registry } from "prom-client";
import type { ObjectCache } from "@breakwater/cache";

/**
 * The cache's counters in /metrics, read from `cache.stats()` at scrape time
 * (nothing extra on the request path). Counters are exposed as gauges of
 * running totals, suffixed _total as Prometheus expects of counters.
 */
export function createCacheMetrics(registry: Registry, cache: ObjectCache): void {
  const gauge = statsGauge(registry, cache);
  gauge("cache_hits_total", "Reads answered from a fresh cached copy", (s) => s.hits);
  gauge("cache_misses_total", "Reads that fetched from storage", (s) => s.misses);
  gauge("cache_stale_served_total", "Reads answered with a stale copy because storage failed", (s) => s.staleServed);
  gauge("cache_revalidations_total", "Expired copies confirmed unchanged by storage (304)", (s) => s.revalidations);
  gauge("cache_coalesced_total", "Reads answered from another read's storage fetch", (s) => s.coalesced);
  gauge("cache_bypassed_total", "Reads streamed through uncached (large or ranged)", (s) => s.bypassed);
  gauge("cache_evictions_total", "Entries evicted to stay under the byte bound", (s) => s.evictions);
  gauge("cache_bytes", "Body bytes held", (s) => s.bytes);
  gauge("cache_max_bytes", "Bound on body bytes", (s) => s.maxBytes);
  gauge("cache_entries", "Entries held, cached 404s included", (s) => s.entries);
}

/** Registers gauges read from one object cache's `stats()` at scrape time (the main cache, the hot copies). */
export function statsGauge(
  registry: Registry,
  cache: ObjectCache,
): (name: string, help: string, read: (s: ReturnType<ObjectCache["stats"]>) => number) => void {
  return (name, help, read) => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(cache.stats()));
      },
    });
  };
}
