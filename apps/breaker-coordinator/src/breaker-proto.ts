import { breakerV1 } from "@breakwater/proto";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { BreakerDetails, BreakerStateKind, BreakerTransition, BreakerView, ForceMode } from "@breakwater/breaker";
import type { InstanceRecord } from "./instance-registry.js";
import type { MemberList } from "./member-list.js";

const { BreakerState, ForceMode: ProtoForceMode, InstanceStatus } = breakerV1;

/** Breaker state names ↔ the wire enum. */
export function stateToProto(state: BreakerStateKind): breakerV1.BreakerState {
  return state === "closed" ? BreakerState.CLOSED : state === "open" ? BreakerState.OPEN : BreakerState.HALF_OPEN;
}

/** ForceMode on the wire → the breaker's; undefined for UNSPECIFIED. */
export function forceModeFromProto(mode: breakerV1.ForceMode): ForceMode | undefined {
  switch (mode) {
    case ProtoForceMode.OPEN:
      return "open";
    case ProtoForceMode.CLOSED:
      return "closed";
    case ProtoForceMode.AUTO:
      return "auto";
    default:
      return undefined;
  }
}

/** The view instances admit calls from. */
export function viewToProto(view: BreakerView): breakerV1.BreakerView {
  return create(breakerV1.BreakerViewSchema, {
    name: view.name,
    state: stateToProto(view.state),
    version: BigInt(view.version),
    openUntil: view.openUntil === undefined ? undefined : timestampFromMs(view.openUntil),
    forced: view.forced,
  });
}

/** A transition as sessions and watchers receive it. */
export function transitionToProto(t: BreakerTransition): breakerV1.BreakerTransition {
  return create(breakerV1.BreakerTransitionSchema, {
    breaker: viewToProto(t),
    from: stateToProto(t.from),
    reason: t.reason,
    at: timestampFromMs(t.at),
  });
}

/** A breaker in full, for operators. */
export function detailsToProto(d: BreakerDetails): breakerV1.Breaker {
  return create(breakerV1.BreakerSchema, {
    name: d.name,
    state: stateToProto(d.state),
    version: BigInt(d.version),
    since: timestampFromMs(d.since),
    reason: d.reason,
    window: {
      successes: BigInt(d.window.successes),
      failures: BigInt(d.window.failures),
      slowCalls: BigInt(d.window.slowCalls),
      failureRate: d.window.failureRate,
      consecutiveFailures: d.window.consecutiveFailures,
    },
    openUntil: d.openUntil === undefined ? undefined : timestampFromMs(d.openUntil),
    probesInFlight: d.probesInFlight,
    contributingInstances: [...d.contributingInstances],
    override:
      d.override === undefined
        ? undefined
        : {
            mode: d.override.mode === "open" ? ProtoForceMode.OPEN : ProtoForceMode.CLOSED,
            reason: d.override.reason,
            expiresAt: d.override.expiresAt === undefined ? undefined : timestampFromMs(d.override.expiresAt),
            forcedBy: d.override.by ?? "",
          },
    reopenCount: d.reopenCount,
    halfOpenSuccesses: d.halfOpenSuccesses,
  });
}

/** An instance as ListInstances shows it. */
export function instanceToProto(r: InstanceRecord, live: boolean, locallyOpen: readonly string[]): breakerV1.Instance {
  return create(breakerV1.InstanceSchema, {
    instanceId: r.instanceId,
    service: r.service,
    address: r.address,
    status: live ? InstanceStatus.LIVE : InstanceStatus.STALE,
    lastSeen: timestampFromMs(r.lastSeen),
    connectedAt: timestampFromMs(r.connectedAt),
    successes: BigInt(r.successes),
    failures: BigInt(r.failures),
    breakers: [...r.breakers],
    locallyOpen: [...locallyOpen],
  });
}

/** The live cache-store members, in a snapshot or on their own. */
export function membersToProto(list: MemberList): breakerV1.Members {
  return create(breakerV1.MembersSchema, {
    version: BigInt(list.version),
    members: list.members.map((m) => ({ address: m.address, instanceId: m.instanceId })),
  });
}
