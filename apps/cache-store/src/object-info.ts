import { cacheV1 } from "@breakwater/proto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ObjectMeta } from "@breakwater/cache";

const statusByName = {
  HIT: cacheV1.CacheStatus.HIT,
  MISS: cacheV1.CacheStatus.MISS,
  REVALIDATED: cacheV1.CacheStatus.REVALIDATED,
  STALE: cacheV1.CacheStatus.STALE,
  COALESCED: cacheV1.CacheStatus.COALESCED,
  BYPASS: cacheV1.CacheStatus.BYPASS,
} as const;

/** The cache's status word as the wire enum. */
export function cacheStatusOf(status: keyof typeof statusByName): cacheV1.CacheStatus {
  return statusByName[status];
}

/** Storage metadata as the wire's ObjectInfo. */
export function objectInfoOf(bucket: string, key: string, meta: ObjectMeta): cacheV1.ObjectInfo {
  return create(cacheV1.ObjectInfoSchema, {
    bucket,
    key,
    size: BigInt(meta.size),
    contentType: meta.contentType,
    etag: meta.etag,
    lastModified: timestampFromDate(meta.lastModified),
    metadata: { ...meta.metadata },
  });
}
