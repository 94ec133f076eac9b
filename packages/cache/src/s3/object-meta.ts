import type { ObjectMeta } from "../storage.js";

/** The headers of a GetObject / HeadObject answer that make up ObjectMeta. */
export interface S3ObjectHeaders {
  readonly ContentType?: string | undefined;
  readonly ETag?: string | undefined;
  readonly LastModified?: Date | undefined;
  readonly Metadata?: Record<string, string> | undefined;
}

/** Maps an S3 answer to ObjectMeta; `size` is the whole object's, also for a ranged read. */
export function toObjectMeta(out: S3ObjectHeaders, size: number): ObjectMeta {
  const metadata: Record<string, string> = {};
  // x-amz-meta-* names are case-insensitive HTTP header names: the port promises lower case.
  for (const [name, value] of Object.entries(out.Metadata ?? {})) metadata[name.toLowerCase()] = value;
  return {
    size,
    contentType: out.ContentType || "application/octet-stream",
    // Kept with its quotes, as If-Match / If-None-Match want it back (RFC 9110 8.8.3).
    etag: out.ETag ?? "",
    lastModified: out.LastModified ?? new Date(0),
    metadata,
  };
}
