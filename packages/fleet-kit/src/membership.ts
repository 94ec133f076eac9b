/**
 * The cache-store members a process hashes keys over (issue 12 "Membership"):
 * the static lists it was configured with (CACHE_STORE_URLS,
 * CACHE_STORE_PEERS), itself when it is a replica, and the live members the
 * coordinator tells its breaker session. A member is named by its gRPC
 * address as `host:port` (server-kit's `grpcTarget`), the same in every
 * process, or owners would disagree. Detached from the coordinator, the last
 * list it told holds: a broken session is not a fleet change.
 */
import type { FleetMembers } from "@breakwater/breaker/session";
import { env, grpcTarget } from "@breakwater/server-kit";

/** CACHE_STORE_MEMBERSHIP, for the config schemas of the gateway and the cache-store. */
export const membershipEnv = {
  CACHE_STORE_MEMBERSHIP: env.oneOf(
    ["static", "coordinator"],
    "static",
    "static: the members are the configured cache-store URLs; coordinator: also every live cache-store " +
      "the coordinator knows, joining and leaving at run time",
  ),
};

/** Where live members come from: a breaker client (`BreakerClient` has both), or a fake in tests. */
export interface MembersSource {
  /** The coordinator's last list; undefined until it told one. */
  readonly members: FleetMembers | undefined;
  /** Calls `listener` on each change of the list; answers the unsubscribe. */
  onMembersChange(listener: (members: FleetMembers) => void): () => void;
}

/** Options of {@link createMembership}. */
export interface MembershipOptions {
  /** URLs or `host:port`s configured by hand (CACHE_STORE_URLS, CACHE_STORE_PEERS): members always. */
  readonly static: readonly string[];
  /** A replica's own address (CACHE_STORE_ADVERTISE_ADDRESS): a replica is always a member of its fleet. */
  readonly self?: string | undefined;
  /** The coordinator's live members, through the process's breaker client; absent: the static list alone. */
  readonly fromCoordinator?: MembersSource | undefined;
}

/** The members one process sees, and their changes. */
export interface Membership {
  /** Every member's name (`host:port`), each once, sorted. */
  members(): readonly string[];
  /** Calls `listener` with the new names whenever the set changes; answers the unsubscribe. */
  onChange(listener: (members: readonly string[]) => void): () => void;
  /** Stops following the coordinator; the members stay as they are. */
  close(): void;
}

/**
 * Creates a membership of the static members (and `self`), joined by the
 * coordinator's live members from the first list it tells. An empty name
 * throws a RangeError naming it.
 */
export function createMembership(options: MembershipOptions): Membership {
  const fixed = [...options.static, ...(options.self === undefined ? [] : [options.self])].map(memberName);
  const source = options.fromCoordinator;
  const listeners = new Set<(members: readonly string[]) => void>();
  const compute = (live: FleetMembers | undefined): readonly string[] => {
    const names = new Set(fixed);
    for (const m of live?.members ?? []) if (grpcTarget(m.address) !== "") names.add(grpcTarget(m.address));
    return Object.freeze([...names].sort());
  };
  let current = compute(source?.members);
  const unsubscribe = source?.onMembersChange((live) => {
    const next = compute(live);
    if (next.length === current.length && next.every((name, i) => name === current[i])) return;
    current = next;
    for (const listener of listeners) {
      try {
        listener(next);
      } catch {
        // One listener's failure must not keep the change from the others; the members are already updated.
      }
    }
  });
  return {
    members: () => current,
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      unsubscribe?.();
    },
  };
}

/** A configured member's name: its URL as `host:port`. */
function memberName(url: string): string {
  const name = grpcTarget(url.trim());
  if (name === "") throw new RangeError(`a member must be a URL or host:port, got ${JSON.stringify(url)}`);
  return name;
}
