/**
 * One backend's breaker as a process applies it on its request path
 * (design.md "Breakers", "BreakerCoordinator"): the fleet's view from the
 * coordinator combined with the process's own LocalBreaker, so local state is
 * only ever stricter. `admit()` is O(1) and allocates nothing while closed or
 * open; no RPC is ever made or awaited on the request path — reports and probe
 * requests are queued for the session.
 */
import {
  type BreakerConfig,
  type BreakerStateKind,
  type BreakerTransition,
  type BreakerView,
  type Clock,
  fleetStateAt,
  LocalBreaker,
  type Random,
} from "../index.js";
import { type Admission, allowedAdmission, type ProbeAdmission, probeAdmission, Refusal } from "./admission.js";
import type { BreakerEventListener } from "./breaker-events.js";
import type { OutcomeBatcher, OutcomeTally } from "./outcome-batcher.js";
import type { ProbeGrantMessage, SessionRequestMessage } from "./session-messages.js";

/** Where a breaker's probe requests and results go (the session link). */
export interface BreakerSessionPort {
  /** Queues a message; false when no session is up. */
  send(message: SessionRequestMessage): boolean;
}

/** What a coordinated breaker is built from (by the breaker client). */
export interface CoordinatedBreakerOptions {
  readonly name: string;
  readonly config: BreakerConfig;
  readonly clock: Clock;
  /** The time outcomes are recorded at (a CoarseClock): window buckets need no finer time. Default: `clock`. */
  readonly recordClock?: Clock | undefined;
  readonly random: Random;
  readonly session: BreakerSessionPort;
  readonly batcher: OutcomeBatcher;
  readonly onEvent: BreakerEventListener;
  /** How long to wait, ± half with jitter, before asking again after a refused probe (default 500 ms). */
  readonly probeRetryMs?: number | undefined;
}

/** Ask again this soon when refused in half-open: a probe decides within a call's time. */
const halfOpenRetryMs = 1_000;

/** A handle on one breaker: `admit()` before each call, `record()` after it. */
export class CoordinatedBreaker {
  readonly name: string;
  readonly config: BreakerConfig;
  private readonly local: LocalBreaker;
  private readonly clock: Clock;
  private readonly recordClock: Clock;
  private readonly random: Random;
  private readonly session: BreakerSessionPort;
  private readonly batcher: OutcomeBatcher;
  private readonly tally: OutcomeTally;
  private readonly emit: BreakerEventListener;
  private readonly slowMs: number | undefined;
  private readonly probeRetryMs: number;
  private readonly halfOpenRefusal: Refusal;
  private readonly unknownRefusal: Refusal;
  private openRefusal: Refusal;
  private view: BreakerView | undefined;
  private detachedValue = false;
  /** True while the fleet's view can only stand for "closed" as time goes on: admit() then reads no clock. */
  private fleetQuiet = true;
  // The fleet's half-open: one probe request, grant or call of ours at a time.
  private asking = false;
  private askExpiresAt = 0;
  private nextAskAt = 0;
  private grant: ProbeAdmission | undefined;
  private probePermit: string | undefined;
  private probeExpiresAt = 0;
  private localPermit: string | undefined;

  constructor(options: CoordinatedBreakerOptions) {
    this.name = options.name;
    this.config = options.config;
    this.clock = options.clock;
    this.recordClock = options.recordClock ?? options.clock;
    this.random = options.random;
    this.session = options.session;
    this.batcher = options.batcher;
    this.emit = options.onEvent;
    this.slowMs = options.config.slowCallMs;
    this.probeRetryMs = options.probeRetryMs ?? 500;
    if (!(this.probeRetryMs >= 0)) throw new RangeError(`probeRetryMs must be ≥ 0, got ${this.probeRetryMs}`);
    const name = options.name;
    this.local = new LocalBreaker(
      {
        name,
        config: options.config,
        random: options.random,
        onTransition: (t) => {
          // A reset of a closed local breaker (below) is no change worth telling.
          if (t.from !== t.to) this.emit({ type: "transition", breaker: name, from: t.from, to: t.to, source: "local", reason: t.reason, at: t.at });
        },
      },
      this.clock.now(),
    );
    this.tally = options.batcher.tally(name, () => this.local.locallyOpen);
    this.halfOpenRefusal = new Refusal("half-open", undefined, halfOpenRetryMs, this.clock);
    this.unknownRefusal = new Refusal("open", undefined, options.config.openTimeoutMs, this.clock);
    this.openRefusal = this.unknownRefusal;
  }

  /**
   * Whether to make a call now. O(1); allocation-free while closed or open.
   * Closed everywhere it reads no clock: time cannot change a closed fleet
   * view (it has no open_until; detached, neither can an open one past it)
   * nor a closed local breaker (it has no timer), and a clock read is most
   * of the cost of a call here (design.md "Stack").
   */
  admit(): Admission {
    if (this.fleetQuiet && this.local.local.state === "closed") return allowedAdmission;
    const now = this.clock.now();
    if (this.detachedValue && !this.fleetQuiet) this.settleFleet(now);
    if (this.local.admit(now)) return allowedAdmission;
    return this.refuse(now);
  }

  /**
   * Records how an admitted call went: `success` false for a failure of the
   * backend (an answer such as 404 is a success). Calls at or over
   * slow_call_ms count as slow. Pass a probe admission back so its result
   * reaches the coordinator.
   */
  record(success: boolean, durationMs: number, admission?: Admission): void {
    if (admission !== undefined && admission.kind === "probe") return this.recordProbe(admission, success, this.clock.now());
    const now = this.recordClock.now();
    const wasClosed = !this.local.locallyOpen;
    this.local.record(success, durationMs, now);
    this.tally.add(success, this.slowMs !== undefined && durationMs >= this.slowMs);
    if (success) return;
    if (this.tally.failures >= this.config.consecutiveFailures || (wasClosed && this.local.locallyOpen)) this.batcher.burst();
  }

  /** The state applied now: the stricter of the fleet's and the local one. */
  state(): BreakerStateKind {
    return this.local.state(this.clock.now());
  }

  /** The coordinator's latest view of this breaker; undefined before the first snapshot. */
  get fleetView(): BreakerView | undefined {
    return this.view;
  }

  /** True while this process's own breaker is not closed (reported as locally_open). */
  get locallyOpen(): boolean {
    return this.local.locallyOpen;
  }

  /** True while the process is cut off from the coordinator. */
  get detached(): boolean {
    return this.detachedValue;
  }

  /** Adopts a session's snapshot: the coordinator's view replaces what was held, whatever its version. */
  adoptSnapshot(view: BreakerView | undefined, now: number): void {
    const before = this.view?.state ?? "closed";
    if (view === undefined) this.local.clearFleetView();
    else this.local.setFleetView(view, { snapshot: true });
    this.view = view;
    this.detachedValue = false;
    this.settleFleet(now);
    this.forgetProbes();
    const after = view?.state ?? "closed";
    if (before !== after) this.emit({ type: "transition", breaker: this.name, from: before, to: after, source: "fleet", reason: "snapshot", at: now });
  }

  /**
   * Applies a transition from the coordinator; one older than the view held
   * is ignored. When the fleet closes after successful probes, a closed local
   * breaker forgets the outage's failures still in its window (as the
   * coordinator's own window does), so that the first calls after recovery
   * do not trip it on stale counts. A local breaker that is open stays so.
   */
  applyTransition(t: BreakerTransition): void {
    if (!this.local.setFleetView(t)) return;
    this.view = t;
    this.detachedValue = false;
    this.settleFleet(this.clock.now());
    this.forgetProbes();
    if (t.from === "half-open" && t.to === "closed" && !t.forced && this.local.local.state === "closed") {
      this.local.local.reset(this.clock.now(), "the fleet closed after successful probes");
    }
    this.emit({ type: "transition", breaker: this.name, from: t.from, to: t.to, source: "fleet", reason: t.reason, at: t.at });
  }

  /** The coordinator answered our probe request. */
  applyProbeGrant(grant: ProbeGrantMessage, now: number): void {
    this.asking = false;
    this.emit({ type: "probe", breaker: this.name, granted: grant.granted, at: now });
    if (!grant.granted) {
      this.nextAskAt = now + Math.round(this.probeRetryMs * (0.5 + this.random()));
      return;
    }
    // Our clock may differ from the coordinator's: never hold a permit past our own lease length.
    const expiresAt = Math.min(grant.leaseExpiresAt ?? Number.POSITIVE_INFINITY, now + this.config.probeLeaseMs);
    this.grant = probeAdmission(this.name, grant.permitId, expiresAt);
  }

  /** The session stream ended: requests in flight will get no answer. */
  disconnected(): void {
    this.forgetProbes();
  }

  /** Cut off for detach_after: known open fleet states hold until they expire; local breakers decide alone. */
  detach(): void {
    this.detachedValue = true;
    this.local.detach();
    this.settleFleet(this.clock.now());
    this.forgetProbes();
  }

  private refuse(now: number): Admission {
    // Half-open by the fleet and not open locally: the fleet's probes decide.
    if (fleetStateAt(this.view, now, this.detachedValue) === "half-open" && this.local.local.state !== "open") {
      return this.admitHalfOpen(now);
    }
    if (this.local.state(now) === "half-open") return this.halfOpenRefusal; // local probes all out
    const ms = this.local.retryAfterMs(now);
    if (ms === undefined) return this.unknownRefusal;
    // One refusal object per open spell: its end does not move while open.
    if (this.openRefusal.retryAt !== now + ms) this.openRefusal = new Refusal("open", now + ms, 0, this.clock);
    return this.openRefusal;
  }

  private admitHalfOpen(now: number): Admission {
    const grant = this.grant;
    if (grant !== undefined) {
      this.grant = undefined;
      if (now < grant.leaseExpiresAt) return this.startProbe(grant, now);
      // A permit not used within its lease is let go; the coordinator frees it.
    }
    if (this.probePermit !== undefined && now < this.probeExpiresAt) return this.halfOpenRefusal;
    this.probePermit = undefined;
    this.localPermit = undefined;
    if ((!this.asking || now >= this.askExpiresAt) && now >= this.nextAskAt) {
      if (this.session.send({ kind: "probe-request", breaker: this.name })) {
        this.asking = true;
        this.askExpiresAt = now + this.config.probeLeaseMs;
      }
    }
    return this.halfOpenRefusal;
  }

  private startProbe(grant: ProbeAdmission, now: number): ProbeAdmission {
    this.probePermit = grant.permitId;
    this.probeExpiresAt = grant.leaseExpiresAt;
    this.localPermit = undefined;
    // Half-open locally as well: the same trial call counts toward closing the local breaker.
    if (this.local.local.state === "half-open") {
      const local = this.local.local.acquireProbe("fleet-probe", now);
      if (local.granted) this.localPermit = local.id;
    }
    return grant;
  }

  // A fleet probe's outcome is the coordinator's to judge, and a half-open
  // local breaker's probe too; it does not enter the local window, where a
  // success would only push the outage's failures over minimum_requests.
  private recordProbe(admission: ProbeAdmission, success: boolean, now: number): void {
    if (admission.permitId === this.probePermit) {
      if (this.localPermit !== undefined) this.local.local.completeProbe(this.localPermit, success, now);
      this.probePermit = undefined;
      this.localPermit = undefined;
    }
    this.session.send({ kind: "probe-result", breaker: this.name, permitId: admission.permitId, success });
  }

  private settleFleet(now: number): void {
    const v = this.view;
    // Detached, a view stands only for an open state until it expires (fleetStateAt); attached, for its state.
    this.fleetQuiet = v === undefined || (this.detachedValue ? fleetStateAt(v, now, true) === "closed" : v.state === "closed");
  }

  private forgetProbes(): void {
    this.asking = false;
    this.nextAskAt = 0;
    this.grant = undefined;
  }
}
