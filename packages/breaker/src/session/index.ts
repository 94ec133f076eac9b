/**
 * @breakwater/breaker/session: the coordinated breaker client (design.md
 * "BreakerCoordinator"). One Session per process to the coordinator, an O(1)
 * admission check per request from the local copy of every breaker, outcome
 * reports batched to the coordinator, half-open probes by permit, detached
 * mode when the coordinator is gone. The Session stream itself comes in as
 * a SessionTransport (the gRPC one is @breakwater/fleet-kit's).
 */

/** Creates a process's breaker client: its session with the coordinator and a breaker per backend. */
export { createBreakerClient } from "./breaker-client.js";
/** Options of createBreakerClient, the client, and the session timing a transport may tune to. */
export type { BreakerClient, BreakerClientOptions, SessionTiming } from "./breaker-client.js";
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
/**
 * The failure classifier for gRPC calls: UNAVAILABLE, INTERNAL,
 * UNKNOWN, DEADLINE_EXCEEDED, DATA_LOSS, transport errors.
 */
export { isGrpcFailure } from "./grpc-failure.js";
/** Timers the session uses (injected beside the clock in tests), and Node's. */
export { systemTimers } from "./timers.js";
/** The timers interface. */
export type { SessionTimers, TimerHandle } from "./timers.js";
/** The Session stream in the breaker's terms, for a transport (gRPC in fleet-kit; tests pass a fake). */
export type {
  FleetMember,
  FleetMembers,
  HelloMessage,
  ProbeGrantMessage,
  ReportedCount,
  SessionRequestMessage,
  SessionResponseMessage,
  SessionStream,
  SessionStreamHandlers,
  SessionTransport,
} from "./session-messages.js";
/** Session messages to and from protobuf (breakwater.breaker.v1), for a gRPC transport. */
export { fromSessionResponse, toSessionRequest } from "./session-proto.js";
/** A Session request as protobuf-es init, what toSessionRequest answers. */
export type { SessionRequestInit } from "./session-proto.js";
