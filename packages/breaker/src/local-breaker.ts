/**
 * The breaker an instance applies on its own request path (design.md
 * "Breakers", "BreakerCoordinator"): the same machine fed only by this
 * instance's calls, combined with the fleet's view from the coordinator so
 * that local state is only ever stricter. Used for local protection when the
 * fleet has no quorum, and alone when cut off from the coordinator.
 */
import { BreakerMachine } from "./breaker-machine.js";
import {
  type BreakerStateKind,
  type BreakerView,
  effectiveState,
  fleetStateAt,
  type TransitionListener,
} from "./breaker-state.js";
import type { Random } from "./clock.js";
import type { BreakerConfig } from "./config.js";

/** What a local breaker is built from. */
export interface LocalBreakerOptions {
  /** The breaker's name, as the coordinator knows it. */
  readonly name: string;
  /** Its config (the same as the fleet's). */
  readonly config: BreakerConfig;
  /** Jitter source in [0, 1); defaults to Math.random. */
  readonly random?: Random | undefined;
  /** Receives the local machine's transitions (not the fleet's). */
  readonly onTransition?: TransitionListener | undefined;
}

// The only instance a local machine ever hears from.
const self = "self";

/** One instance's breaker for one backend: admit before each call, record after. */
export class LocalBreaker {
  private readonly machine: BreakerMachine;
  private readonly slowMs: number | undefined;
  /** Local probe permits handed out by admit, completed by the next records in order. */
  private readonly permits: string[] = [];
  private fleet: BreakerView | undefined;
  private detached = false;

  /** A closed local breaker with no fleet view yet, created at `now`. */
  constructor(options: LocalBreakerOptions, now: number) {
    const listener = options.onTransition;
    this.slowMs = options.config.slowCallMs;
    this.machine = new BreakerMachine(
      {
        name: options.name,
        config: options.config,
        random: options.random,
        onTransition: (t) => {
          // Permits of a half-open spell that ended can never complete.
          this.permits.length = 0;
          listener?.(t);
        },
      },
      now,
    );
  }

  /** The breaker's name. */
  get name(): string {
    return this.machine.name;
  }

  /** The instance's own machine, for its view and details. */
  get ownMachine(): BreakerMachine {
    return this.machine;
  }

  /** True while this instance's own breaker is not closed (reported as `locally_open`). */
  get locallyOpen(): boolean {
    return this.machine.state !== "closed";
  }

  /**
   * Whether to make a call now. O(1) and allocation-free unless the local
   * machine is half-open. Half-open locally (fleet closed): admits up to
   * halfOpenMaxProbes calls as local probes. Half-open by the fleet: refuses;
   * the coordinator grants the fleet's probes to whichever instance asks.
   */
  admit(now: number): boolean {
    this.machine.tick(now);
    const local = this.machine.state;
    const fleet = fleetStateAt(this.fleet, now, this.detached);
    switch (effectiveState(fleet, local)) {
      case "closed":
        return true;
      case "open":
        return false;
      case "half-open":
        return fleet === "closed" && this.takeProbe(now);
    }
  }

  /**
   * Records how an admitted call went: `durationMs` at or over slowCallMs
   * makes it slow. While local probes are out, outcomes complete them in order.
   */
  record(success: boolean, durationMs: number, now: number): void {
    if (this.permits.length > 0) {
      const permit = this.permits.shift();
      if (permit !== undefined && this.machine.completeProbe(permit, success, now)) return;
    }
    this.machine.recordOutcome(self, success, this.slowMs !== undefined && durationMs >= this.slowMs, now);
  }

  /** The state applied at `now`: the stricter of the fleet's and the local one. */
  state(now: number): BreakerStateKind {
    this.machine.tick(now);
    return effectiveState(fleetStateAt(this.fleet, now, this.detached), this.machine.state);
  }

  /** When a refused call may be worth trying again, in ms from `now`; undefined when unknown or not open. */
  retryAfterMs(now: number): number | undefined {
    this.machine.tick(now);
    let until = this.machine.state === "open" ? this.machine.openUntil : undefined;
    const fleetUntil = this.fleet?.openUntil;
    if (fleetUntil !== undefined && fleetStateAt(this.fleet, now, this.detached) === "open") {
      until = Math.max(until ?? 0, fleetUntil);
    }
    return until === undefined ? undefined : Math.max(0, until - now);
  }

  /**
   * Adopts the coordinator's view and marks the instance attached. A
   * transition older than the view held (lower version, arriving late) is
   * ignored; a session's snapshot (`snapshot: true`) is adopted whatever its
   * version, as on return the coordinator's view wins. Returns whether the view was taken.
   */
  setFleetView(view: BreakerView, options?: { readonly snapshot?: boolean }): boolean {
    this.detached = false;
    if (options?.snapshot !== true && this.fleet !== undefined && view.version < this.fleet.version) return false;
    this.fleet = view;
    return true;
  }

  /**
   * Cut off from the coordinator: known open fleet states hold until they
   * expire, everything else falls to the local breaker alone. The next
   * `setFleetView` attaches again.
   */
  detach(): void {
    this.detached = true;
  }

  private takeProbe(now: number): boolean {
    const answer = this.machine.acquireProbe(self, now);
    if (answer.granted) this.permits.push(answer.id);
    return answer.granted;
  }

  /** Forgets the fleet's view (e.g. the coordinator lost this breaker). */
  clearFleetView(): void {
    this.fleet = undefined;
  }
}
