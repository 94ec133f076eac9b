import type { MethodRequirement } from "@breakwater/server-kit";

/**
 * What each BreakerCoordinator method needs (server-kit `guardService`, both
 * ports). Session is an instance's credential: it reports outcomes that steer
 * the whole fleet's breakers, so it needs `write` (a service's BW_TOKEN). The
 * read-only ops need `read`; forcing and resetting breakers need `admin`.
 * Breakers have no buckets: a grant limited to buckets or prefixes does not
 * cover them.
 */
export const coordinatorRules: Readonly<Record<string, MethodRequirement>> = {
  session: () => ({ permission: "write" }),
  listBreakers: () => ({ permission: "read" }),
  getBreaker: () => ({ permission: "read" }),
  listInstances: () => ({ permission: "read" }),
  watchBreakers: () => ({ permission: "read" }),
  forceBreaker: () => ({ permission: "admin" }),
  resetBreaker: () => ({ permission: "admin" }),
};
