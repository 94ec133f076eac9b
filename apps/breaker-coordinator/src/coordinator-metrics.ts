import { Counter, Gauge, type Registry } from "prom-client";
import type { BreakerTransition } from "@breakwater/breaker";
import { registerBreakerStateGauge } from "@breakwater/fleet-kit";
import type { Coordinator } from "./coordinator.js";

/**
 * The coordinator's metrics: state per breaker, transitions, sessions, reports, probes, failed saves,
 * cut-off sessions.
 */
export function createCoordinatorMetrics(registry: Registry, coordinator: () => Coordinator) {
  registerBreakerStateGauge(registry, {
    name: "breaker_state",
    help: "Breaker state",
    // Without etcd a replica knows no current state (list() answers UNAVAILABLE): none exported, so that
    // /metrics still answers, with coordinator_fleet_state_available 0 saying why.
    breakers: () => (coordinator().fleet.unavailable === undefined ? coordinator().list() : []),
  });
  new Gauge({
    name: "coordinator_sessions",
    help: "Open instance sessions",
    registers: [registry],
    collect() {
      this.set(coordinator().sessionCount);
    },
  });
  new Gauge({
    name: "coordinator_fleet_state_available",
    help: "1 while the fleet's breaker state can be used (always, for a single process; with etcd: etcd answers)",
    registers: [registry],
    collect() {
      this.set(coordinator().fleet.unavailable === undefined ? 1 : 0);
    },
  });
  const transitions = new Counter({
    name: "breaker_transitions_total",
    help: "Breaker transitions, by breaker and state entered",
    labelNames: ["breaker", "to"] as const,
    registers: [registry],
  });
  const reports = new Counter({
    name: "coordinator_reports_total",
    help: "Outcome reports received",
    registers: [registry],
  });
  const probes = new Counter({
    name: "coordinator_probe_requests_total",
    help: "Half-open probe requests, by answer",
    labelNames: ["granted"] as const,
    registers: [registry],
  });
  const stateWriteFailures = new Counter({
    name: "coordinator_state_write_failures_total",
    help: "Saves of the state file that failed (the coordinator serves on; the file is behind until a save works)",
    registers: [registry],
  });
  const sessionsCutOff = new Counter({
    name: "coordinator_sessions_cut_off_total",
    help: "Sessions cut off because they fell too many messages behind",
    registers: [registry],
  });
  return {
    onStateWriteFailure: () => stateWriteFailures.inc(),
    onSessionCutOff: () => sessionsCutOff.inc(),
    onTransition: (t: BreakerTransition) => transitions.inc({ breaker: t.name, to: t.to }),
    onReport: () => reports.inc(),
    onProbe: (_breaker: string, granted: boolean) => probes.inc({ granted: String(granted) }),
  };
}
