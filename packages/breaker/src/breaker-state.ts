/**
 * The shapes of a breaker's state as others see it: the state kinds, the
 * view an instance admits calls from, and the transition event. Mirrors
 * breakwater.breaker.v1 without depending on it.
 */

/** The three states of design.md; "half-open" admits only probes. */
export type BreakerStateKind = "closed" | "open" | "half-open";

/** What a breaker does on its own, without an override. */
export type AutoState =
  | { readonly kind: "closed" }
  | { readonly kind: "open"; readonly openUntil: number }
  | { readonly kind: "half-open"; readonly successes: number };

/** The part of a breaker an instance needs to admit calls (proto BreakerView). */
export interface BreakerView {
  readonly name: string;
  readonly state: BreakerStateKind;
  /** Grows on every transition; never goes back. */
  readonly version: number;
  /** Set while open: when it turns half-open (or the forced open lapses). */
  readonly openUntil: number | undefined;
  /** True when the state is an operator's override. */
  readonly forced: boolean;
}

/** One change of a breaker's state, as emitted to listeners. */
export interface BreakerTransition extends BreakerView {
  readonly from: BreakerStateKind;
  /** Same as `state`; the state entered. */
  readonly to: BreakerStateKind;
  readonly reason: string;
  /** When the transition was noticed (ms epoch); transitions are evaluated lazily. */
  readonly at: number;
}

/** Receives transitions; must not throw (the breaker's state is already updated). */
export type TransitionListener = (transition: BreakerTransition) => void;

/** How strict a state is: local state may only add strictness to the fleet's. */
const strictness: Record<BreakerStateKind, number> = { closed: 0, "half-open": 1, open: 2 };

/**
 * The state an instance applies: the stricter of the fleet's and its own
 * (open if either is open), so local state can never loosen the fleet's.
 */
export function effectiveState(fleet: BreakerStateKind, local: BreakerStateKind): BreakerStateKind {
  return strictness[local] > strictness[fleet] ? local : fleet;
}

/**
 * The fleet state a view stands for at `now`. An open view past its
 * `openUntil` stands for half-open while attached (the coordinator grants the
 * probes); detached, a view only keeps known open states until they expire,
 * then it stands for nothing ("closed") and local breakers decide alone.
 */
export function fleetStateAt(view: BreakerView | undefined, now: number, detached: boolean): BreakerStateKind {
  if (view === undefined) return "closed";
  if (view.state === "open") {
    if (view.openUntil === undefined || now < view.openUntil) return "open";
    return detached ? "closed" : "half-open";
  }
  return detached ? "closed" : view.state;
}
