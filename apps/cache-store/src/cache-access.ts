import type { cacheV1 } from "@breakwater/proto";
import type { MethodRequirement, Requirement } from "@breakwater/server-kit";

/**
 * What each CacheService method needs (server-kit `guardService` checks it on
 * the caller's `authorization: Bearer …` metadata, on both ports). Health and
 * reflection are other services: they stay open.
 */
export const cacheServiceRules: Readonly<Record<string, MethodRequirement>> = {
  getObject: (r: cacheV1.GetObjectRequest) => ({ permission: "read", bucket: r.bucket, key: r.key }),
  headObject: (r: cacheV1.HeadObjectRequest) => ({ permission: "read", bucket: r.bucket, key: r.key }),
  // The first message; a stream without a header is refused by the service (INVALID_ARGUMENT) if let through.
  putObject: (r: cacheV1.PutObjectRequest | undefined): Requirement =>
    r?.part.case === "header"
      ? { permission: "write", bucket: r.part.value.bucket, key: r.part.value.key }
      : { permission: "write" },
  deleteObject: (r: cacheV1.DeleteObjectRequest) => ({ permission: "write", bucket: r.bucket, key: r.key }),
  // Dropping the local copy of one written key is part of a write (the gateway's and a replica's
  // read-your-writes); anything wider, or published to the peers, is a purge.
  invalidateCache: (r: cacheV1.InvalidateCacheRequest) => ({
    permission: r.localOnly && !r.prefix ? "write" : "purge",
    bucket: r.bucket,
    key: r.key,
  }),
  getStats: () => ({ permission: "read" }),
  // Invalidations name keys: a watch of one bucket needs read there, of every bucket ("") read everywhere.
  watchInvalidations: (r: cacheV1.WatchInvalidationsRequest) => ({
    permission: "read",
    bucket: r.bucket === "" ? undefined : r.bucket,
  }),
};
