import type { OutgoingHttpHeaders } from "node:http";
import { cacheV1 } from "@breakwater/proto";
import { timestampDate } from "@bufbuild/protobuf/wkt";

const { CacheStatus } = cacheV1;

/**
 * RFC 9211 Cache-Status for how the cache-store produced an answer. A replica
 * that read through its own storage because the key's owner was unreachable
 * says `detail=owner-fallback` (a stale answer keeps `detail=stale`: one
 * detail per member, and staleness matters more to a client).
 */
export function cacheStatusHeader(answer: { cacheStatus: cacheV1.CacheStatus; route: cacheV1.ReadRoute }): string {
  const status = cacheStatusOf(answer.cacheStatus);
  if (answer.route !== cacheV1.ReadRoute.OWNER_FALLBACK || status.includes("; detail=")) return status;
  return `${status}; detail=owner-fallback`;
}

function cacheStatusOf(status: cacheV1.CacheStatus): string {
  switch (status) {
    case CacheStatus.HIT:
      return "breakwater; hit";
    case CacheStatus.STALE:
      return "breakwater; hit; detail=stale";
    case CacheStatus.REVALIDATED:
      return "breakwater; fwd=stale; fwd-status=304";
    case CacheStatus.COALESCED:
      return "breakwater; fwd=miss; collapsed";
    case CacheStatus.BYPASS:
      return "breakwater; fwd=bypass";
    case CacheStatus.MISS:
    case CacheStatus.UNSPECIFIED:
      return "breakwater; fwd=miss";
  }
}

/** Representation headers of an object (RFC 9110 8), without Content-Length. */
export function objectHeaders(info: cacheV1.ObjectInfo, cacheStatus: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    "content-type": info.contentType || "application/octet-stream",
    "accept-ranges": "bytes",
    "cache-status": cacheStatus,
  };
  if (info.etag) headers.etag = info.etag;
  if (info.lastModified) headers["last-modified"] = timestampDate(info.lastModified).toUTCString();
  for (const [name, value] of Object.entries(info.metadata)) headers[`x-amz-meta-${name}`] = value;
  return headers;
}

/** User metadata from `x-amz-meta-*` request headers, names lower-cased. */
export function userMetadataOf(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith("x-amz-meta-") || value === undefined) continue;
    out[name.slice("x-amz-meta-".length)] = Array.isArray(value) ? value.join(",") : value;
  }
  return out;
}

/**
 * How the gateway's near-cache handled a read: `hit` (answered from it),
 * `miss` (forwarded; the answer may be stored), `off` (configured but not
 * serving: an invalidation stream is down), or `none` (not configured).
 */
export type NearCacheOutcome = "hit" | "miss" | "off" | "none";

/** The name the gateway's near-cache goes by in Cache-Status. */
export const GATEWAY_CACHE_NAME = "breakwater-gateway";

/**
 * The Cache-Status field with the gateway's member added after the
 * cache-store's. RFC 9211 section 2: "The first member of the list represents
 * the cache closest to the origin server, and the last member of the list
 * represents the cache closest to the user agent", and a cache adds its
 * member while preserving the existing value; the gateway is nearer the
 * client than the cache-store, so its member comes last.
 */
export function withGatewayMember(upstream: string, outcome: NearCacheOutcome): string {
  switch (outcome) {
    case "none":
      return upstream;
    case "hit":
      return `${upstream}, ${GATEWAY_CACHE_NAME}; hit`;
    case "miss":
      return `${upstream}, ${GATEWAY_CACHE_NAME}; fwd=miss`;
    case "off":
      // fwd=bypass: "the cache was configured to not handle this request" (RFC 9211 2.2).
      return `${upstream}, ${GATEWAY_CACHE_NAME}; fwd=bypass; detail=off`;
  }
}
