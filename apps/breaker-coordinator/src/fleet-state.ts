import type {
  BreakerDetails,
  BreakerTransition,
  BreakerView,
  ForceMode,
  OutcomeCounts,
  ProbeAnswer,
} from "@breakwater/breaker";
import type { InstanceRecord } from "./instance-registry.js";

/** An instance attached to another coordinator replica, as that replica last published it. */
export interface RemoteInstance {
  readonly record: InstanceRecord;
  /** Live as its replica judges it (connected, heard from within the stale limit). */
  readonly live: boolean;
}

/**
 * Where the fleet's breakers are decided and kept: in this process (a
 * BreakerSet saved to the state file) or in etcd, shared by replicas. The
 * coordinator's sessions, members and ops RPCs sit on top of either.
 */
export interface FleetState {
  /** Every committed transition, once, in version order per breaker. */
  onTransition(listener: (t: BreakerTransition) => void): void;
  /** Called with the reason when the fleet state becomes unavailable, and with undefined when it is back. */
  onAvailability(listener: (unavailable: string | undefined) => void): void;
  /** Why the fleet state cannot be used now (etcd unreachable); undefined while it can. */
  readonly unavailable: string | undefined;
  /** Makes sure the named breakers exist (an instance said hello with them). */
  ensure(names: readonly string[], now: number): void;
  /** Adds an instance's reported outcomes (opening the breaker if the fleet window trips). */
  record(instanceId: string, breaker: string, counts: OutcomeCounts, now: number): void;
  /** Asks for a half-open probe permit for `holder`: at most half_open_max_probes fleet-wide. */
  acquireProbe(breaker: string, holder: string, now: number): Promise<ProbeAnswer>;
  /** Returns a permit with its outcome. */
  completeProbe(breaker: string, permitId: string, success: boolean, now: number): void;
  /** Drops an instance's own window (it was dropped for silence). */
  forgetInstance(instanceId: string): void;
  /** Applies time-driven changes due by `now`. */
  tick(now: number): void;
  /** What instances admit calls from (a session's snapshot). */
  views(now: number): BreakerView[];
  describe(name: string, now: number): BreakerDetails | undefined;
  /** Every breaker in full, sorted by name. */
  list(now: number): BreakerDetails[];
  /** An operator's override (`by`: who); resolves once it is durable (on disk, or committed in etcd). */
  force(
    name: string,
    mode: ForceMode,
    reason: string,
    ttlMs: number | undefined,
    now: number,
    by?: string,
  ): Promise<BreakerDetails>;
  /** Closes a breaker and clears its window and backoff; resolves once durable; undefined for an unknown name. */
  reset(name: string, now: number): Promise<BreakerDetails | undefined>;
  /** Instances attached to other replicas (none for a single process). */
  remoteInstances(): readonly RemoteInstance[];
}

/** The fleet state cannot be used now (etcd unreachable): ops answer UNAVAILABLE, sessions end. */
export class FleetUnavailableError extends Error {
  override readonly name = "FleetUnavailableError";
  constructor(
    readonly why: string,
    cause?: unknown,
  ) {
    super(`the fleet's breaker state is unavailable on this replica: ${why}`, { cause });
  }
}
