/**
 * A breaker's state in /metrics, the same way in every service: the
 * coordinator's fleet state, and the state each instance applies.
 */
import { Gauge, type Registry } from "prom-client";
import type { BreakerStateKind } from "@breakwater/breaker";

const stateValue: Record<BreakerStateKind, number> = { closed: 0, "half-open": 1, open: 2 };

/** One breaker as the gauge reads it. */
export interface BreakerStateSample {
  readonly name: string;
  readonly state: BreakerStateKind;
}

/** Options of {@link registerBreakerStateGauge}. */
export interface BreakerStateGaugeOptions {
  /** The metric's name, e.g. `breaker_state`, `gateway_upstream_breaker_state`. */
  readonly name: string;
  /** Whose state it is; " 0 closed, 1 half-open, 2 open" is appended. */
  readonly help: string;
  /** The breakers now, read on each scrape. */
  readonly breakers: () => Iterable<BreakerStateSample>;
}

/** Registers a gauge of each breaker's state, labelled `breaker`: 0 closed, 1 half-open, 2 open. */
export function registerBreakerStateGauge(registry: Registry, options: BreakerStateGaugeOptions): void {
  const read = options.breakers;
  new Gauge({
    name: options.name,
    help: `${options.help}: 0 closed, 1 half-open, 2 open`,
    labelNames: ["breaker"] as const,
    registers: [registry],
    collect() {
      this.reset(); // a breaker that is gone leaves no series behind
      for (const b of read()) this.set({ breaker: b.name }, stateValue[b.state]);
    },
  });
}
