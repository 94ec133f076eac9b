/**
 * The storage port: what the cache needs from object storage. The S3 adapter
 * (`@breakwater/cache/s3`) implements it; the cache core depends only on this.
 * Bodies are async iterables of bytes so that nothing here needs Node streams
 * or an SDK, and a large object is never held whole.
 */

/** What storage knows about one object. */
export interface ObjectMeta {
  /** Size of the whole object in bytes. */
  readonly size: number;
  readonly contentType: string;
  /** Entity tag with its quotes, as storage sends it (RFC 9110 8.8.3). */
  readonly etag: string;
  readonly lastModified: Date;
  /** User metadata (S3 x-amz-meta-*), names in lower case. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** A byte range to read: inclusive bounds, or the last `suffix` bytes. */
export type RangeRequest = { readonly start: number; readonly end?: number | undefined } | { readonly suffix: number };

/** A resolved range: first and last byte, inclusive. */
export interface ResolvedRange {
  readonly start: number;
  readonly end: number;
}

/** Options of a storage read. */
export interface StorageGetOptions {
  /** Only these bytes. */
  readonly range?: RangeRequest | undefined;
  /** Ask storage to answer not-modified when the etag still matches. */
  readonly ifNoneMatch?: string | undefined;
  /** Aborting stops the download and releases its connection. */
  readonly signal?: AbortSignal | undefined;
}

/** The answer of a storage read. */
export type StorageGetResult =
  | {
      readonly kind: "object";
      readonly meta: ObjectMeta;
      /** Set when a range was asked for: the bytes `body` carries. */
      readonly range?: ResolvedRange | undefined;
      /** Must be consumed or its iterator returned, or the connection leaks. */
      readonly body: AsyncIterable<Uint8Array>;
    }
  | { readonly kind: "not-modified" };

/** Options of a storage write. */
export interface StoragePutOptions {
  readonly contentType?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  /** Declared size when known; picks single-part or multipart upload. */
  readonly contentLength?: number | undefined;
  /** Write only if the current etag matches (sent to storage as If-Match). */
  readonly ifMatch?: string | undefined;
  /** "*": write only if no object exists (sent as If-None-Match). */
  readonly ifNoneMatch?: string | undefined;
  /** Aborting abandons the upload; no partial object is left. */
  readonly signal?: AbortSignal | undefined;
}

/** The answer of a storage write. */
export interface StoragePutResult {
  readonly etag: string;
  readonly size: number;
}

/** Object storage as the cache uses it. Errors are those of errors.ts. */
export interface ObjectStorage {
  /** Names the backend for its breaker, e.g. `s3:http://127.0.0.1:9000`. */
  readonly backend: string;
  get(bucket: string, key: string, options?: StorageGetOptions): Promise<StorageGetResult>;
  head(bucket: string, key: string, options?: { signal?: AbortSignal | undefined }): Promise<ObjectMeta>;
  put(
    bucket: string,
    key: string,
    body: AsyncIterable<Uint8Array>,
    options?: StoragePutOptions,
  ): Promise<StoragePutResult>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(bucket: string, key: string, options?: { signal?: AbortSignal | undefined }): Promise<void>;
}
