/**
 * What a caller may do: permissions, each optionally limited to buckets and
 * key prefixes (S3-style scopes). `admin` implies the other three within its
 * scope, and alone steers the coordinator's breakers.
 */
export const PERMISSIONS = ["read", "write", "purge", "admin"] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** One permission and where it holds; an absent list means everywhere. */
export interface Grant {
  readonly permission: Permission;
  readonly buckets?: readonly string[] | undefined;
  readonly prefixes?: readonly string[] | undefined;
}

/**
 * What a call needs. An absent bucket means every bucket (e.g. a watch of all
 * buckets), which only an unlimited grant covers; likewise an absent key.
 * `keyIsPrefix`: the call acts on every key under `key` (a purge by prefix).
 */
export interface Requirement {
  readonly permission: Permission;
  readonly bucket?: string | undefined;
  readonly key?: string | undefined;
}

/** True when some grant covers the requirement. */
export function allows(grants: readonly Grant[], need: Requirement): boolean {
  return grants.some((g) => covers(g, need));
}

function covers(grant: Grant, need: Requirement): boolean {
  if (grant.permission !== need.permission && grant.permission !== "admin") return false;
  if (grant.buckets !== undefined && (need.bucket === undefined || !grant.buckets.includes(need.bucket))) return false;
  // A key prefix also bounds a purge by prefix: every key under "a/b" starts with "a/" when "a/b" does.
  if (grant.prefixes !== undefined && (need.key === undefined || !grant.prefixes.some((p) => need.key!.startsWith(p))))
    return false;
  return true;
}
