/**
 * A breaker in full for operators (GetBreaker, ListBreakers): its view plus
 * why and since when, the window's counts, probes, contributing instances and
 * the instances that should hold their local breaker open.
 */
import type { BreakerMachine } from "./breaker-machine.js";
import type { BreakerView } from "./breaker-state.js";
import type { Override } from "./override.js";
import { locallyOpenInstances } from "./quorum.js";
import type { WindowCounts } from "./sliding-window.js";

/** A breaker in full (proto Breaker). */
export interface BreakerDetails extends BreakerView {
  readonly since: number;
  readonly reason: string;
  readonly window: WindowCounts;
  readonly probesInFlight: number;
  /** Instances with failures in the window, sorted. */
  readonly contributingInstances: readonly string[];
  /** Instances whose own calls cross the thresholds while the fleet breaker is closed, sorted. */
  readonly locallyOpenInstances: readonly string[];
  readonly override: Override | undefined;
  readonly reopenCount: number;
  readonly halfOpenSuccesses: number;
}

/** Describes a breaker at `now` (applying changes due by then). Allocates; not for the hot path. */
export function describeBreaker(machine: BreakerMachine, now: number): BreakerDetails {
  const view = machine.view(now);
  const contributing: string[] = [];
  machine.outcomes.forEach(now, (instance, w) => {
    if (w.failures > 0) contributing.push(instance);
  });
  return {
    ...view,
    since: machine.since,
    reason: machine.reason,
    window: machine.outcomes.total.counts(now),
    probesInFlight: machine.probesInFlight(now),
    contributingInstances: contributing.sort(),
    // Open or probing, the fleet already protects every instance.
    locallyOpenInstances: view.state === "closed" ? locallyOpenInstances(machine.outcomes, machine.config, now) : [],
    override: machine.override,
    reopenCount: machine.reopenCount,
    halfOpenSuccesses: machine.halfOpenSuccesses,
  };
}
