/**
 * @breakwater/breaker/session: the coordinated breaker client (design.md
 * "BreakerCoordinator"). One Session per process to the coordinator, an O(1)
 * admission check per request from the local copy of every breaker, outcome
 * reports batched to the coordinator, half-open probes by permit, detached
 * mode when the coordinator is gone, and a cockatiel policy to compose with
 * retry and bulkhead.
 */

/** Creates a process's breaker client: its session with the coordinator and a breaker per backend. */
export { createBreakerClient } from "./breaker-client.js";
/** Options of createBreakerClient, and the client. */
export type { BreakerClient, BreakerClientOptions } from "./breaker-client.js";
/** One backend's breaker on the request path: admit() before each call, record() after. */
export type { CoordinatedBreaker } from "./coordinated-breaker.js";
/** What admit() answers: allowed, refused (with retryAfterMs), or a half-open probe holding a permit. */
export type { Admission, AllowedAdmission, ProbeAdmission, RefusedAdmission } from "./admission.js";
/** Events a client emits for apps to log and count. */
export type {
  AttachedEvent,
  BreakerClientEvent,
  BreakerEventListener,
  DetachedEvent,
  DisconnectedEvent,
  ProbeEvent,
  TransitionEvent,
} from "./breaker-events.js";
/** The error of a call a breaker refused, and its guard. */
export { BreakerOpenError, isBreakerOpenError } from "./breaker-open-error.js";
/** A coordinated breaker as a cockatiel policy (IPolicy), and whether an error is a refusal rather than a failure. */
export { BreakerPolicy, isRefusal } from "./breaker-policy.js";
/** Options of a breaker policy (the failure classifier). */
export type { BreakerPolicyOptions } from "./breaker-policy.js";
/** The failure classifier for gRPC calls: UNAVAILABLE, INTERNAL, UNKNOWN, DEADLINE_EXCEEDED and transport errors. */
export { isGrpcFailure } from "./grpc-failure.js";
/** retry → bulkhead → coordinated breaker as one cockatiel policy. */
export { composePolicy } from "./compose-policy.js";
/** Options of composePolicy. */
export type { BulkheadOptions, ComposePolicyOptions, RetryOptions } from "./compose-policy.js";
/** Timers the session uses (injected beside the clock in tests), and Node's. */
export { systemTimers } from "./timers.js";
/** The timers interface. */
export type { SessionTimers, TimerHandle } from "./timers.js";
/** The Session stream in the breaker's terms, for a transport of one's own (tests pass a fake). */
export type {
  HelloMessage,
  ProbeGrantMessage,
  ReportedCount,
  SessionRequestMessage,
  SessionResponseMessage,
  SessionStream,
  SessionStreamHandlers,
  SessionTransport,
} from "./session-messages.js";
/** Reads BREAKER_CONFIG (the YAML shared by the coordinator and every instance). */
export { readBreakerConfigFile, loadBreakerConfig, breakerConfigEnv } from "./read-config-file.js";
