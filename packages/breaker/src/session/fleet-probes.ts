/**
 * The fleet's half-open as one process takes part in it (design.md
 * "Breakers": at most half_open_max_probes trial calls fleet-wide, each a
 * lease). Demand-driven: a refused call asks the coordinator for a permit;
 * the grant goes to the next call; its outcome goes back as a probe result.
 * At most one request, grant or probe call of this process at a time.
 */
import type { BreakerConfig, LocalBreaker, Random } from "../index.js";
import { type Admission, type ProbeAdmission, probeAdmission, type Refusal } from "./admission.js";
import type { ProbeGrantMessage, SessionRequestMessage } from "./session-messages.js";

/** What a breaker's probes are built from. */
export interface FleetProbesOptions {
  readonly name: string;
  readonly config: BreakerConfig;
  readonly random: Random;
  /** Queues a message on the session; false when none is up. */
  readonly send: (message: SessionRequestMessage) => boolean;
  /** The process's own breaker: a fleet probe counts as its probe too when it is half-open. */
  readonly local: LocalBreaker;
  /** The answer to calls that are not the probe. */
  readonly refusal: Refusal;
  /** Wait before asking again after a refusal, ± half. */
  readonly retryMs: number;
}

/** One breaker's share of the fleet's half-open probes. */
export class FleetProbes {
  private readonly options: FleetProbesOptions;
  private asking = false;
  private askExpiresAt = 0;
  private nextAskAt = 0;
  private grant: ProbeAdmission | undefined;
  private permit: string | undefined;
  private permitExpiresAt = 0;
  private localPermit: string | undefined;

  constructor(options: FleetProbesOptions) {
    if (!(options.retryMs >= 0)) throw new RangeError(`probeRetryMs must be ≥ 0, got ${options.retryMs}`);
    this.options = options;
  }

  /** A call while the fleet is half-open: the probe if a grant is held, else refused (asking for a permit). */
  admit(now: number): Admission {
    const o = this.options;
    const grant = this.grant;
    if (grant !== undefined) {
      this.grant = undefined;
      if (now < grant.leaseExpiresAt) return this.start(grant, now);
      // A permit not used within its lease is let go; the coordinator frees it.
    }
    if (this.permit !== undefined && now < this.permitExpiresAt) return o.refusal;
    this.permit = undefined;
    this.localPermit = undefined;
    if (
      (!this.asking || now >= this.askExpiresAt) &&
      now >= this.nextAskAt &&
      o.send({ kind: "probe-request", breaker: o.name })
    ) {
      this.asking = true;
      // An answer lost on the way (the stream broke) must not stop us asking for good.
      this.askExpiresAt = now + o.config.probeLeaseMs;
    }
    return o.refusal;
  }

  /** The coordinator's answer to our request. */
  applyGrant(grant: ProbeGrantMessage, now: number): void {
    this.asking = false;
    if (!grant.granted) {
      this.nextAskAt = now + Math.round(this.options.retryMs * (0.5 + this.options.random()));
      return;
    }
    // Our clock may differ from the coordinator's: never hold a permit past our own lease length.
    const expiresAt = Math.min(
      grant.leaseExpiresAt ?? Number.POSITIVE_INFINITY,
      now + this.options.config.probeLeaseMs,
    );
    this.grant = probeAdmission(this.options.name, grant.permitId, expiresAt);
  }

  /**
   * The probe call's outcome: to the coordinator, and to a half-open local
   * breaker as its probe. It does not enter the local window, where a success
   * would only push the outage's failures over minimum_requests.
   */
  record(admission: ProbeAdmission, success: boolean, now: number): void {
    if (admission.permitId === this.permit) {
      if (this.localPermit !== undefined) this.options.local.ownMachine.completeProbe(this.localPermit, success, now);
      this.permit = undefined;
      this.localPermit = undefined;
    }
    this.options.send({ kind: "probe-result", breaker: this.options.name, permitId: admission.permitId, success });
  }

  /** The fleet moved on or the session ended: requests and grants held are void; a probe call out still reports. */
  forget(): void {
    this.asking = false;
    this.nextAskAt = 0;
    this.grant = undefined;
  }

  private start(grant: ProbeAdmission, now: number): ProbeAdmission {
    this.permit = grant.permitId;
    this.permitExpiresAt = grant.leaseExpiresAt;
    this.localPermit = undefined;
    const machine = this.options.local.ownMachine;
    if (machine.state === "half-open") {
      const local = machine.acquireProbe("fleet-probe", now);
      if (local.granted) this.localPermit = local.id;
    }
    return grant;
  }
}
