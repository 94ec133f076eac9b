import { Counter, Gauge, type Registry } from "prom-client";
import type { BreakerTransition } from "@breakwater/breaker";
import { registerBreakerStateGauge } from "@breakwater/fleet-kit";
import type { Coordinator } from "./coordinator.js";

/** The coordinator's metrics: state per breaker, transitions, sessions, reports, probes. */
export function createCoordinatorMetrics(registry: Registry, coordinator: () => Coordinator) {
  registerBreakerStateGauge(registry, { name: "breaker_state", help: "Breaker state", breakers: () => coordinator().list() });
  new Gauge({
    name: "coordinator_sessions",
    help: "Open instance sessions",
    registers: [registry],
    collect() {
      this.set(coordinator().sessionCount);
    },
  });
  const transitions = new Counter({
    name: "breaker_transitions_total",
    help: "Breaker transitions, by breaker and state entered",
    labelNames: ["breaker", "to"] as const,
    registers: [registry],
  });
  const reports = new Counter({ name: "coordinator_reports_total", help: "Outcome reports received", registers: [registry] });
  const probes = new Counter({
    name: "coordinator_probe_requests_total",
    help: "Half-open probe requests, by answer",
    labelNames: ["granted"] as const,
    registers: [registry],
  });
  return {
    onTransition: (t: BreakerTransition) => transitions.inc({ breaker: t.name, to: t.to }),
    onReport: () => reports.inc(),
    onProbe: (_breaker: string, granted: boolean) => probes.inc({ granted: String(granted) }),
  };
}
