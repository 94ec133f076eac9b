/**
 * The hot cache's storage (CACHE_HOT_MAX_BYTES): reads of a key from its
 * owner over gRPC, so that a non-owner's hot copies are a second, small
 * object cache in front of the owner rather than of S3.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { cacheV1 } from "@breakwater/proto";
import {
  CacheError,
  type ObjectMeta,
  type ObjectStorage,
  type StorageGetOptions,
  type StorageGetResult,
} from "@breakwater/cache";
import { asStorageError } from "./owner-errors.js";
import type { OwnerMetrics } from "./owner-metrics.js";
import type { Owner } from "./owner-routing.js";

/**
 * The hot cache's storage: the key's owner over gRPC. Reads only; what the
 * owner answers becomes the CacheErrors the cache expects, and an owner that
 * cannot be reached an OwnerDownError (the cache passes it on as the cause of
 * its "unavailable").
 */
export function ownerStorage(
  ownerOfKey: (bucket: string, key: string) => Owner | undefined,
  headers: Readonly<Record<string, string>>,
  ownerStatus: WeakMap<ObjectMeta, cacheV1.CacheStatus>,
  metrics: OwnerMetrics,
): ObjectStorage {
  const ownerOf = (bucket: string, key: string): Owner => {
    const owner = ownerOfKey(bucket, key);
    if (owner === undefined) throw new Error(`hot copies of ${bucket}/${key}, a key this replica owns`);
    return owner;
  };
  const refused = (): never => {
    throw new CacheError("invalid-argument", "hot copies are read-only");
  };
  return {
    backend: "owner",
    async get(bucket, key, options: StorageGetOptions = {}): Promise<StorageGetResult> {
      const owner = ownerOf(bucket, key);
      const started = performance.now();
      const range = options.range;
      const req = {
        bucket,
        key,
        ifNoneMatch: options.ifNoneMatch ?? "",
        range:
          range === undefined
            ? undefined
            : "suffix" in range
              ? { suffixLength: BigInt(range.suffix) }
              : { start: BigInt(range.start), end: range.end === undefined ? undefined : BigInt(range.end) },
      };
      const iterator = owner.admit().getObject(req, { signal: options.signal, headers })[Symbol.asyncIterator]();
      let first: IteratorResult<cacheV1.GetObjectResponse>;
      try {
        first = await iterator.next();
      } catch (err) {
        throw asStorageError(owner, err);
      }
      metrics.forwardSeconds.observe({ method: "get" }, (performance.now() - started) / 1000);
      if (first.done || first.value.info === undefined) {
        throw new CacheError("unavailable", `owner ${owner.name} answered no object info`);
      }
      if (first.value.notModified) {
        void iterator.return?.();
        return { kind: "not-modified" };
      }
      const meta = metaOf(first.value.info);
      ownerStatus.set(meta, first.value.cacheStatus);
      const cr = first.value.contentRange;
      const firstChunk = first.value.chunk;
      async function* body(): AsyncGenerator<Uint8Array> {
        try {
          if (firstChunk.byteLength > 0) yield firstChunk;
          for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value.chunk;
        } catch (err) {
          throw asStorageError(owner, err);
        } finally {
          await iterator.return?.();
        }
      }
      return {
        kind: "object",
        meta,
        range: cr === undefined ? undefined : { start: Number(cr.start), end: Number(cr.end) },
        body: body(),
      };
    },
    async head(bucket, key, options = {}) {
      const owner = ownerOf(bucket, key);
      const started = performance.now();
      try {
        const answer = await owner.admit().headObject({ bucket, key }, { signal: options.signal, headers });
        metrics.forwardSeconds.observe({ method: "head" }, (performance.now() - started) / 1000);
        if (answer.info === undefined) throw new CacheError("unavailable", `owner ${owner.name} answered no info`);
        const meta = metaOf(answer.info);
        ownerStatus.set(meta, answer.cacheStatus);
        return meta;
      } catch (err) {
        throw asStorageError(owner, err);
      }
    },
    put: refused,
    delete: refused,
  };
}

function metaOf(info: cacheV1.ObjectInfo): ObjectMeta {
  return {
    size: Number(info.size),
    contentType: info.contentType,
    etag: info.etag,
    lastModified: info.lastModified ? timestampDate(info.lastModified) : new Date(0),
    metadata: { ...info.metadata },
  };
}
