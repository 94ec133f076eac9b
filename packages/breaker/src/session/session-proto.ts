/**
 * Session messages ↔ breakwater.breaker.v1 on the wire. Outgoing messages
 * are plain init shapes (the grpc-js codec creates the messages); incoming
 * ones are read into the breaker's own shapes. The one place that knows the
 * protobuf field names and enum values of the session.
 */
import { breakerV1 } from "@breakwater/proto";
import type { BreakerStateKind, BreakerView } from "../index.js";
import type { FleetMembers, SessionRequestMessage, SessionResponseMessage } from "./session-messages.js";

/** A SessionRequest as grpc-js serialises it (an init shape: plain objects). */
export interface SessionRequestInit {
  readonly message:
    | {
        readonly case: "hello";
        readonly value: { instanceId: string; service: string; address: string; breakers: string[] };
      }
    | {
        readonly case: "report";
        readonly value: {
          counts: { breaker: string; successes: number; failures: number; slowCalls: number; locallyOpen: boolean }[];
        };
      }
    | { readonly case: "probeRequest"; readonly value: { breaker: string } }
    | { readonly case: "probeResult"; readonly value: { breaker: string; permitId: string; success: boolean } };
}

/** Largest value of a uint32 count. */
export const maxCount = 0xffff_ffff;

/** A session message as the wire's init shape. */
export function toSessionRequest(m: SessionRequestMessage): SessionRequestInit {
  switch (m.kind) {
    case "hello":
      return { message: { case: "hello", value: { ...m.hello, breakers: [...m.hello.breakers] } } };
    case "report":
      return { message: { case: "report", value: { counts: m.counts.map((c) => ({ ...c })) } } };
    case "probe-request":
      return { message: { case: "probeRequest", value: { breaker: m.breaker } } };
    case "probe-result":
      return {
        message: { case: "probeResult", value: { breaker: m.breaker, permitId: m.permitId, success: m.success } },
      };
  }
}

/**
 * A SessionResponse in the breaker's terms; undefined for a message this client does not know (a newer coordinator).
 */
export function fromSessionResponse(r: breakerV1.SessionResponse): SessionResponseMessage | undefined {
  const m = r.message;
  switch (m.case) {
    case "snapshot":
      return {
        kind: "snapshot",
        views: m.value.breakers.map(viewFromProto),
        heartbeatMs: m.value.heartbeatInterval === undefined ? undefined : msOf(m.value.heartbeatInterval),
        members: m.value.members === undefined ? undefined : membersFromProto(m.value.members),
      };
    case "transition": {
      const t = m.value;
      if (t.breaker === undefined) return undefined;
      const view = viewFromProto(t.breaker);
      return {
        kind: "transition",
        transition: {
          ...view,
          from: stateFromProto(t.from),
          to: view.state,
          reason: t.reason,
          at: t.at === undefined ? 0 : msOf(t.at),
        },
      };
    }
    case "probeGrant": {
      const g = m.value;
      return {
        kind: "probe-grant",
        grant: {
          breaker: g.breaker,
          granted: g.granted,
          permitId: g.permitId,
          leaseExpiresAt: g.leaseExpiresAt === undefined ? undefined : msOf(g.leaseExpiresAt),
        },
      };
    }
    case "members":
      return { kind: "members", members: membersFromProto(m.value) };
    default:
      return undefined;
  }
}

/** Wire Members as the client's. */
export function membersFromProto(m: breakerV1.Members): FleetMembers {
  return {
    version: Number(m.version),
    members: m.members.map((x) => ({ address: x.address, instanceId: x.instanceId })),
  };
}

/** A wire BreakerView as the core's. */
export function viewFromProto(v: breakerV1.BreakerView): BreakerView {
  return {
    name: v.name,
    state: stateFromProto(v.state),
    version: Number(v.version),
    openUntil: v.openUntil === undefined ? undefined : msOf(v.openUntil),
    forced: v.forced,
  };
}

/** The wire's state enum as the core's names; UNSPECIFIED (a state this client does not know) reads as closed. */
export function stateFromProto(state: breakerV1.BreakerState): BreakerStateKind {
  if (state === breakerV1.BreakerState.OPEN) return "open";
  if (state === breakerV1.BreakerState.HALF_OPEN) return "half-open";
  return "closed";
}

/** A google.protobuf.Timestamp or Duration in milliseconds. */
export function msOf(t: { readonly seconds: bigint; readonly nanos: number }): number {
  return Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
}
