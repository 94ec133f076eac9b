import type { OutgoingHttpHeaders } from "node:http";
import { cacheV1 } from "@breakwater/proto";
import { timestampDate } from "@bufbuild/protobuf/wkt";

const { CacheStatus } = cacheV1;

/** RFC 9211 Cache-Status for how the cache-store produced an answer. */
export function cacheStatusHeader(status: cacheV1.CacheStatus): string {
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
export function objectHeaders(info: cacheV1.ObjectInfo, status: cacheV1.CacheStatus): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    "content-type": info.contentType || "application/octet-stream",
    "accept-ranges": "bytes",
    "cache-status": cacheStatusHeader(status),
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
