import type { InstanceRecord } from "./instance-registry.js";

/** The service whose live instances are the fleet's members (the owners keys hash over). */
export const MEMBER_SERVICE = "cache-store";

/** One live cache-store, named by the gRPC address its hello advertised. */
export interface FleetMember {
  readonly address: string;
  readonly instanceId: string;
}

/** The live members and the version of that list (it grows on every change). */
export interface MemberList {
  readonly version: number;
  /** One per address, sorted by address. */
  readonly members: readonly FleetMember[];
}

/**
 * The members among `instances`: cache-stores that `isLive` accepts and that
 * advertised an address, one per address (the newest session's when two
 * claim one, e.g. a replica restarted before its old session went stale).
 */
export function membersOf(instances: readonly InstanceRecord[], isLive: (r: InstanceRecord) => boolean): FleetMember[] {
  const byAddress = new Map<string, InstanceRecord>();
  for (const r of instances) {
    if (r.service !== MEMBER_SERVICE || r.address === "" || !isLive(r)) continue;
    const held = byAddress.get(r.address);
    if (held === undefined || r.connectedAt >= held.connectedAt) byAddress.set(r.address, r);
  }
  return [...byAddress.values()]
    .map((r) => ({ address: r.address, instanceId: r.instanceId }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** True when both lists name the same instances at the same addresses, in order. */
export function sameMembers(a: readonly FleetMember[], b: readonly FleetMember[]): boolean {
  return a.length === b.length && a.every((m, i) => m.address === b[i]!.address && m.instanceId === b[i]!.instanceId);
}
