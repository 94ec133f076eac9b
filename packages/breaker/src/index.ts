/**
 * @breakwater/breaker: breaker semantics (design.md "Breakers"), pure and
 * clock-injected: config, sliding windows, quorum, the state machine, the
 * coordinator's set of breakers and the instance's local breaker. The gRPC
 * session with the coordinator sits behind `@breakwater/breaker/session`.
 */

/** The injected time source every rule reads, and the wall clock for apps. */
export { systemClock } from "./clock.js";
/** A source of ms (epoch) and a source of jitter in [0, 1). */
export type { Clock, Random } from "./clock.js";

/** Builds a validated, frozen config from design.md's defaults; bad options throw a RangeError naming the value. */
export { createBreakerConfig, defaultBreakerConfig } from "./config.js";
/** A breaker's tuning (windows, thresholds, open times, probes, quorum, session timing). */
export type { BreakerConfig } from "./config.js";
/** Reads BREAKER_CONFIG (YAML: defaults + per-backend overrides), listing every problem at once. */
export { parseBreakerConfigFile } from "./config-file.js";
/** The configs read from one file; resolveConfig(name) gives a breaker's frozen config. */
export type { BreakerConfigSet } from "./config-file.js";
/** The error of a bad BREAKER_CONFIG file, with every problem and its path. */
export { BreakerConfigError, isBreakerConfigError } from "./breaker-config-error.js";
/** The error of a snapshot that cannot be restored, with the bad value's path. */
export { BreakerSnapshotError, isBreakerSnapshotError } from "./breaker-snapshot-error.js";

/** Bucketed outcome counts over a sliding window, allocation-free on record. */
export { SlidingWindow } from "./sliding-window.js";
/** A window's counts as operators see them (GetBreaker's WindowCounts). */
export type { WindowCounts, SlidingWindowJSON } from "./sliding-window.js";
/** Outcome counts one instance reports (OutcomeCount), and the read side of a fleet window. */
export type { FleetOutcomes, OutcomeCounts, FleetWindowJSON } from "./fleet-window.js";
/** One breaker's outcomes in total and per instance (a coordinator replica's share of the fleet window). */
export { FleetWindow } from "./fleet-window.js";
/** The fleet window added up from replicas' summaries, and the empty one shared records carry. */
export { sumFleetWindows, emptyFleetWindow } from "./fleet-window-sum.js";
/** The trip rules (failure rate, consecutive failures, slow calls), shared by fleet and local breakers. */
export { tripReason, trips } from "./trip.js";
/** The quorum rules: how many failing instances open the fleet breaker, and who counts as failing. */
export { hasQuorum, isInstanceFailing, requiredQuorum } from "./quorum.js";
/** The doubling, capped, jittered open time; the reconnect delay of long-lived streams. */
export { openTimeout, reconnectDelay } from "./backoff.js";
/** Options of reconnectDelay. */
export type { ReconnectBackoff } from "./backoff.js";

/** States, the view instances admit calls from, and transition events. */
export type {
  AutoState,
  BreakerStateKind,
  BreakerTransition,
  BreakerView,
  TransitionListener,
} from "./breaker-state.js";
/** An operator's override (ForceBreaker): mode, reason, expiry. */
export type { ForceMode, ForceOptions, Override } from "./override.js";
/** Combines fleet and local state so local can only be stricter; reads a fleet view at a time, attached or detached. */
export { effectiveState, fleetStateAt } from "./breaker-state.js";
/** The state machine of one breaker: outcomes, probes as leases, overrides, versions, snapshots. */
export { BreakerMachine } from "./breaker-machine.js";
/** Options of a breaker machine. */
export type { BreakerMachineOptions } from "./breaker-machine.js";
/** A machine as saved in the snapshot file. */
export type { BreakerMachineJSON } from "./machine-snapshot.js";
/** Reads a saved machine strictly (a BreakerSnapshotError names the bad value). */
export { parseBreakerMachineJSON } from "./machine-snapshot.js";
/** Half-open trial permits: granted (with lease expiry) or refused (with why and when to ask again). */
export type { ProbeAnswer, ProbePermit, ProbeRefusal } from "./probe-leases.js";
/** A breaker in full for operators (GetBreaker, ListBreakers). */
export { describeBreaker } from "./breaker-details.js";
/** What describeBreaker answers. */
export type { BreakerDetails } from "./breaker-details.js";
/** The coordinator's breakers by name: created on demand, one transition stream, one snapshot. */
export { BreakerSet } from "./breaker-set.js";
/** Options and snapshot shape of a BreakerSet. */
export type { BreakerSetJSON, BreakerSetOptions } from "./breaker-set.js";
/** An instance's own breaker for its request path, combined with the fleet's view. */
export { LocalBreaker } from "./local-breaker.js";
/** Options of a local breaker. */
export type { LocalBreakerOptions } from "./local-breaker.js";
