import { Counter, Histogram, type Registry } from "prom-client";
import type { ObjectCache } from "@breakwater/cache";
import { statsGauge } from "./cache-metrics.js";

/** The metrics of ownership: reads by route, the forwarding hop, owner invalidations, hot copies. */
export interface OwnerMetrics {
  readonly reads: Counter<"route">;
  readonly forwardSeconds: Histogram<"method">;
  readonly ownerInvalidations: Counter<"outcome">;
  registerHot(hot: ObjectCache): void;
}

/** Reads by route, the forwarding hop's latency, owner invalidations, hot copies. Every series exists from 0. */
export function createOwnerMetrics(registry: Registry): OwnerMetrics {
  const reads = new Counter({
    name: "cache_owner_reads_total",
    help:
      "Reads (GetObject, HeadObject) by who answered: owned here, forwarded to the owner, a hot copy here, " +
      "or a fallback to this replica's storage because the owner was unreachable",
    labelNames: ["route"],
    registers: [registry],
  });
  for (const route of ["owned", "forwarded", "hot", "fallback"]) reads.inc({ route }, 0);
  const forwardSeconds = new Histogram({
    name: "cache_forward_duration_seconds",
    help: "Time from a forwarded call to the owner's first answer (GetObject headers, HeadObject answer)",
    labelNames: ["method"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const ownerInvalidations = new Counter({
    name: "cache_owner_invalidations_total",
    help: "InvalidateCache calls to a key's owner after a write through this replica, by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  for (const outcome of ["ok", "failed"]) ownerInvalidations.inc({ outcome }, 0);
  return {
    reads,
    forwardSeconds,
    ownerInvalidations,
    registerHot(hot) {
      const gauge = statsGauge(registry, hot);
      gauge("cache_hot_hits_total", "Reads answered from a hot copy of a key another replica owns", (s) => s.hits);
      gauge("cache_hot_bytes", "Body bytes of hot copies held", (s) => s.bytes);
      gauge("cache_hot_entries", "Hot copies held, cached 404s included", (s) => s.entries);
    },
  };
}
