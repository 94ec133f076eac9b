/**
 * What a breaker client tells the app: libraries do not log (style.md), they
 * emit events that apps log and count.
 */
import type { BreakerStateKind } from "../index.js";

/** The session came up (a snapshot arrived); the coordinator's view is adopted. */
export interface AttachedEvent {
  readonly type: "attached";
  readonly at: number;
  /** True when the process had been detached (it reported what it saw meanwhile). */
  readonly afterDetach: boolean;
  /** The coordinator replica the session is on (as COORDINATOR_URL or its DNS records name it). */
  readonly replica: string;
  /** Time without a session before this one (a failover or a reconnect); undefined for the first session. */
  readonly withoutSessionMs: number | undefined;
}

/** The session stream ended (or an attempt failed); the next attempt follows, on another replica when there is one. */
export interface DisconnectedEvent {
  readonly type: "disconnected";
  readonly at: number;
  readonly error: unknown;
  /** 0 when another replica is tried at once; a backoff once every replica has failed. */
  readonly retryInMs: number;
  /** The replica whose stream ended or could not be opened. */
  readonly replica: string;
}

/** No session for detach_after: local breakers decide alone; known open states hold until they expire. */
export interface DetachedEvent {
  readonly type: "detached";
  readonly at: number;
}

/** A breaker changed state: the fleet's (from the coordinator) or this process's own local breaker. */
export interface TransitionEvent {
  readonly type: "transition";
  readonly breaker: string;
  readonly from: BreakerStateKind;
  readonly to: BreakerStateKind;
  readonly source: "fleet" | "local";
  readonly reason: string;
  readonly at: number;
}

/** The coordinator answered a probe request. */
export interface ProbeEvent {
  readonly type: "probe";
  readonly breaker: string;
  readonly granted: boolean;
  readonly at: number;
}

/** Every event of a breaker client. */
export type BreakerClientEvent = AttachedEvent | DisconnectedEvent | DetachedEvent | TransitionEvent | ProbeEvent;

/** Receives events; exceptions it throws are swallowed (the breakers' state is already updated). */
export type BreakerEventListener = (event: BreakerClientEvent) => void;
