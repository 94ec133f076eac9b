/**
 * The Session stream of breakwater.breaker.v1.BreakerCoordinator in the
 * breaker's own terms, and the transport that carries it. The session logic
 * speaks only these shapes, so it is tested against a fake transport; the
 * gRPC transport maps them to the wire (session-proto.ts).
 */
import type { BreakerTransition, BreakerView } from "../index.js";

/** Opens a session: who the instance is and the breakers it uses (proto Hello). */
export interface HelloMessage {
  readonly instanceId: string;
  readonly service: string;
  readonly address: string;
  readonly breakers: readonly string[];
}

/** One breaker's outcomes since the previous report (proto OutcomeCount). */
export interface ReportedCount {
  readonly breaker: string;
  readonly successes: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** True while the instance's own breaker is not closed. */
  readonly locallyOpen: boolean;
}

/** What an instance sends on its session. An empty report is a heartbeat. */
export type SessionRequestMessage =
  | { readonly kind: "hello"; readonly hello: HelloMessage }
  | { readonly kind: "report"; readonly counts: readonly ReportedCount[] }
  | { readonly kind: "probe-request"; readonly breaker: string }
  | { readonly kind: "probe-result"; readonly breaker: string; readonly permitId: string; readonly success: boolean };

/** The answer to a probe request; refusals carry no permit. */
export interface ProbeGrantMessage {
  readonly breaker: string;
  readonly granted: boolean;
  readonly permitId: string;
  /** The coordinator's lease end (ms epoch); undefined when refused. */
  readonly leaseExpiresAt: number | undefined;
}

/** One live cache-store, named by the gRPC address (`host:port`) its hello advertised (proto Member). */
export interface FleetMember {
  readonly address: string;
  readonly instanceId: string;
}

/** The live cache-store members and the list's version, which grows on every change (proto Members). */
export interface FleetMembers {
  readonly version: number;
  /** One per address, sorted by address. */
  readonly members: readonly FleetMember[];
}

/** What the coordinator sends: a snapshot first, then transitions, probe grants and member changes. */
export type SessionResponseMessage =
  | {
      readonly kind: "snapshot";
      readonly views: readonly BreakerView[];
      readonly heartbeatMs: number | undefined;
      /** Undefined from a coordinator that keeps no membership. */
      readonly members?: FleetMembers | undefined;
    }
  | { readonly kind: "transition"; readonly transition: BreakerTransition }
  | { readonly kind: "probe-grant"; readonly grant: ProbeGrantMessage }
  | { readonly kind: "members"; readonly members: FleetMembers };

/** Receives one stream's messages and its end. */
export interface SessionStreamHandlers {
  onMessage(message: SessionResponseMessage): void;
  /** The stream ended: `error` when it failed, undefined when the coordinator closed it cleanly. Called once. */
  onClose(error?: unknown): void;
}

/** One open Session stream. */
export interface SessionStream {
  /** Queues a message; never waits (the request path must not). */
  send(message: SessionRequestMessage): void;
  /** Ends the stream from this side; `onClose` is not called after this. */
  close(): void;
}

/** Opens Session streams to the coordinator's replicas (gRPC in production, a fake in tests). */
export interface SessionTransport {
  /**
   * The coordinator replicas a session may open on, as operators name them
   * (at least one). Asked before every attempt, so a list that changes (a DNS
   * name's records) is followed.
   */
  replicas(): readonly string[];
  /** Opens a stream to `replica`, one of `replicas()`. */
  open(handlers: SessionStreamHandlers, replica: string): SessionStream;
}
