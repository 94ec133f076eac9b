/** A breaker machine on a driven clock, with its transitions collected; for tests only. */
import { BreakerMachine } from "../breaker-machine.js";
import type { BreakerTransition } from "../breaker-state.js";
import { type BreakerConfig, createBreakerConfig } from "../config.js";

export interface MachineHarness {
  readonly machine: BreakerMachine;
  readonly events: BreakerTransition[];
  /** The driven clock's reading. */
  now: number;
  /** Moves the clock on by `ms`. */
  advance(ms: number): number;
  /** Records `n` single outcomes of `instance` at the current time. */
  fail(n: number, instance?: string): void;
  succeed(n: number, instance?: string): void;
}

/** Starts at a round time so bucket edges are easy to reason about; jitter sits mid-range unless given. */
export function machineHarness(options: Partial<BreakerConfig> = {}, random: () => number = () => 0.5): MachineHarness {
  const events: BreakerTransition[] = [];
  const start = 1_000_000_000;
  const machine = new BreakerMachine(
    { name: "s3:test", config: createBreakerConfig(options), random, onTransition: (t) => events.push(t) },
    start,
  );
  const h: MachineHarness = {
    machine,
    events,
    now: start,
    advance(ms) {
      h.now += ms;
      return h.now;
    },
    fail(n, instance = "i1") {
      for (let i = 0; i < n; i++) machine.recordOutcome(instance, false, false, h.now);
    },
    succeed(n, instance = "i1") {
      for (let i = 0; i < n; i++) machine.recordOutcome(instance, true, false, h.now);
    },
  };
  return h;
}
