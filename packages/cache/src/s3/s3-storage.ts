import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type GetObjectCommandOutput,
} from "@aws-sdk/client-s3";
import { CacheError, isCacheError } from "../errors.js";
import type { ObjectMeta, ObjectStorage, RangeRequest, StorageGetOptions, StorageGetResult } from "../storage.js";
import { expectedRange, parseContentRange, rangeHeader } from "./content-range.js";
import { toObjectMeta } from "./object-meta.js";
import { objectBody } from "./s3-body.js";
import { createS3Client } from "./s3-client.js";
import { storageSaidNotModified, toCacheError } from "./s3-error.js";
import { checkObjectName } from "../object-names.js";
import { resolveS3Options, type S3StorageOptions } from "./s3-options.js";
import { putObject, type PutContext } from "./s3-put.js";

/** The GetObject fields a read sets. */
interface GetInput {
  readonly Range?: string | undefined;
  readonly IfNoneMatch?: string | undefined;
  readonly IfMatch?: string | undefined;
}

/** The S3 adapter: the storage port plus `close()`, which ends its keep-alive connections. */
export interface S3Storage extends ObjectStorage {
  close(): void;
}

/**
 * Object storage on any S3-compatible store (S3, MinIO, Ceph, s3rver) through
 * `@aws-sdk/client-s3`. Every failure is a CacheError; the SDK makes one
 * attempt per call, since retries and the breaker belong to the caller.
 */
export function createS3Storage(options: S3StorageOptions): S3Storage {
  const resolved = resolveS3Options(options);
  const client = createS3Client(resolved);

  async function head(bucket: string, key: string, signal: AbortSignal | undefined): Promise<ObjectMeta> {
    const what = `head ${bucket}/${key}`;
    checkObjectName(bucket, key);
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
      return toObjectMeta(out, out.ContentLength ?? 0);
    } catch (err) {
      throw toCacheError(err, what, signal);
    }
  }

  /** A 416 with the object's size, which the gateway's Content-Range needs (RFC 9110 15.5.17). */
  async function unsatisfiable(
    what: string,
    bucket: string,
    key: string,
    size: number | undefined,
    signal: AbortSignal | undefined,
    cause?: unknown,
  ): Promise<never> {
    const objectSize = size ?? (await head(bucket, key, signal)).size;
    throw new CacheError("range-not-satisfiable", `${what}: range not satisfiable`, { objectSize, cause });
  }

  async function send(
    bucket: string,
    key: string,
    what: string,
    input: GetInput,
    signal: AbortSignal | undefined,
  ): Promise<GetObjectCommandOutput | "not-modified"> {
    try {
      return await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...input }), { abortSignal: signal });
    } catch (err) {
      if (storageSaidNotModified(err)) return "not-modified";
      const e = toCacheError(err, what, signal);
      if (e.kind === "range-not-satisfiable") return unsatisfiable(what, bucket, key, e.objectSize, signal, err);
      throw e;
    }
  }

  async function getRange(
    bucket: string,
    key: string,
    range: RangeRequest,
    options: StorageGetOptions,
    what: string,
  ): Promise<StorageGetResult> {
    const { signal } = options;
    let input: GetInput = { Range: rangeHeader(range), IfNoneMatch: options.ifNoneMatch };
    // "bytes=-0" is unsatisfiable (RFC 9110 14.1.1), but stores answer it with the whole object.
    if ("suffix" in range && range.suffix === 0) return unsatisfiable(what, bucket, key, undefined, signal);
    for (let attempt = 1; ; attempt++) {
      let out: Awaited<ReturnType<typeof send>>;
      try {
        out = await send(bucket, key, what, input, signal);
      } catch (err) {
        // The object was replaced between the two reads: a transient failure.
        if (attempt > 1 && isCacheError(err, "precondition-failed")) {
          throw new CacheError("unavailable", `${what}: object changed while reading`, { cause: err });
        }
        throw err;
      }
      if (out === "not-modified") return { kind: "not-modified" };
      const body = objectBody(out.Body, what, signal);
      const got = parseContentRange(out.ContentRange);
      // A 200 without Content-Range is the whole object: the store ignored Range.
      const size = got?.size ?? out.ContentLength ?? 0;
      const want = expectedRange(range, size);
      if (want === undefined) {
        body.release();
        return unsatisfiable(what, bucket, key, size, signal);
      }
      const sent = got ?? { start: 0, end: size - 1 };
      if (sent.start === want.start && sent.end === want.end) {
        return { kind: "object", meta: toObjectMeta(out, size), range: want, body };
      }
      // Some stores answer other bytes than asked: s3rver reads "bytes=-n" as
      // "bytes=0-n". Ask again for explicit positions, of the same object.
      body.release();
      if (attempt === 2 || out.ETag === undefined) {
        throw new CacheError(
          "unavailable",
          `${what}: storage sent bytes ${sent.start}-${sent.end}, not ${want.start}-${want.end}`,
        );
      }
      input = { Range: `bytes=${want.start}-${want.end}`, IfMatch: out.ETag };
    }
  }

  const ctx: PutContext = { client, options: resolved, head };

  return {
    backend: `s3:${resolved.endpoint}`,

    async get(bucket, key, options = {}) {
      const what = `get ${bucket}/${key}`;
      checkObjectName(bucket, key);
      const { signal } = options;
      if (signal?.aborted) throw new CacheError("cancelled", `${what}: cancelled`, { cause: signal.reason });
      try {
        if (options.range !== undefined) return await getRange(bucket, key, options.range, options, what);
        const out = await send(bucket, key, what, { IfNoneMatch: options.ifNoneMatch }, signal);
        if (out === "not-modified") return { kind: "not-modified" };
        return {
          kind: "object",
          meta: toObjectMeta(out, out.ContentLength ?? 0),
          body: objectBody(out.Body, what, signal),
        };
      } catch (err) {
        throw toCacheError(err, what, signal);
      }
    },

    head(bucket, key, options) {
      return head(bucket, key, options?.signal);
    },

    async put(bucket, key, body, options = {}) {
      checkObjectName(bucket, key);
      return putObject(ctx, bucket, key, body, options);
    },

    async delete(bucket, key, options) {
      const what = `delete ${bucket}/${key}`;
      checkObjectName(bucket, key);
      try {
        // S3 answers 204 for a missing key too: idempotent as the port wants.
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: options?.signal });
      } catch (err) {
        throw toCacheError(err, what, options?.signal);
      }
    },

    close() {
      client.destroy();
    },
  };
}
