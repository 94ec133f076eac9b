import {
  describeBreaker,
  type BreakerDetails,
  type BreakerSet,
  type BreakerTransition,
  type ForceMode,
  type OutcomeCounts,
  type ProbeAnswer,
} from "@breakwater/breaker";
import type { FleetState, RemoteInstance } from "./fleet-state.js";

/** An operator's change is in effect but could not be saved: it may not survive a restart. */
export class StateNotSavedError extends Error {
  override readonly name = "StateNotSavedError";
  constructor(cause: unknown) {
    super("the change is in effect but the state file could not be saved", { cause });
  }
}

/**
 * The fleet state of a single coordinator process: a BreakerSet in memory,
 * saved (coalesced) after every transition by `persist`. Never unavailable.
 */
export class LocalFleetState implements FleetState {
  readonly unavailable = undefined;

  constructor(
    readonly breakers: BreakerSet,
    /** Saves the state; resolves once what was current at the call is on disk. */
    private readonly persist: () => Promise<void> = async () => undefined,
  ) {
    breakers.onTransition(() => {
      // Saved in the background, coalesced; a failure is the persister's to report.
      void this.persist().catch(() => undefined);
    });
  }

  onTransition(listener: (t: BreakerTransition) => void): void {
    this.breakers.onTransition(listener);
  }

  onAvailability(): void {
    // Always available.
  }

  ensure(names: readonly string[], now: number): void {
    for (const name of names) this.breakers.ensure(name, now);
  }

  record(instanceId: string, breaker: string, counts: OutcomeCounts, now: number): void {
    this.breakers.ensure(breaker, now).record(instanceId, counts, now);
  }

  async acquireProbe(breaker: string, holder: string, now: number): Promise<ProbeAnswer> {
    return this.breakers.ensure(breaker, now).acquireProbe(holder, now);
  }

  completeProbe(breaker: string, permitId: string, success: boolean, now: number): void {
    this.breakers.get(breaker)?.completeProbe(permitId, success, now);
  }

  forgetInstance(instanceId: string): void {
    for (const m of this.breakers.list()) m.forgetInstance(instanceId);
  }

  tick(now: number): void {
    this.breakers.tick(now);
  }

  views(now: number) {
    return this.breakers.list().map((m) => m.view(now));
  }

  describe(name: string, now: number): BreakerDetails | undefined {
    const m = this.breakers.get(name);
    return m === undefined ? undefined : describeBreaker(m, now);
  }

  list(now: number): BreakerDetails[] {
    return this.breakers.list().map((m) => describeBreaker(m, now));
  }

  async force(name: string, mode: ForceMode, reason: string, ttlMs: number | undefined, now: number, by?: string) {
    const m = this.breakers.ensure(name, now);
    m.force(mode, { reason: reason || undefined, ttlMs, by }, now);
    await this.#saved();
    return describeBreaker(m, now);
  }

  async reset(name: string, now: number) {
    const m = this.breakers.get(name);
    if (m === undefined) return undefined;
    m.reset(now);
    await this.#saved();
    return describeBreaker(m, now);
  }

  remoteInstances(): readonly RemoteInstance[] {
    return [];
  }

  #saved(): Promise<void> {
    return this.persist().catch((err: unknown) => {
      throw new StateNotSavedError(err);
    });
  }
}
