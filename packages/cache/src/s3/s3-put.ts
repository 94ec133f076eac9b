import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { CacheError } from "../errors.js";
import type { ObjectMeta, StoragePutOptions, StoragePutResult } from "../storage.js";
import { joinChunks, readHead, uploadStream, type BodyHead } from "./s3-body.js";
import { toCacheError } from "./s3-error.js";
import { checkMetadata } from "./s3-metadata.js";
import type { ResolvedS3Options } from "./s3-options.js";
import { checkWriteCondition } from "./write-precondition.js";

/** What a put needs from the adapter around it. */
export interface PutContext {
  readonly client: S3Client;
  readonly options: ResolvedS3Options;
  readonly head: (bucket: string, key: string, signal: AbortSignal | undefined) => Promise<ObjectMeta>;
}

/**
 * Writes a streamed body. Up to `multipartThresholdBytes` it is buffered and
 * sent as one PutObject with a known length; beyond (declared or discovered
 * while reading) it streams through a multipart upload, so a large body never
 * sits whole in memory. A failed or cancelled upload is never completed, so it
 * leaves no object (nor a partial one) behind.
 */
export async function putObject(
  ctx: PutContext,
  bucket: string,
  key: string,
  body: AsyncIterable<Uint8Array>,
  options: StoragePutOptions,
): Promise<StoragePutResult> {
  const what = `put ${bucket}/${key}`;
  const { signal, contentLength: declared } = options;
  if (declared !== undefined && (!Number.isSafeInteger(declared) || declared < 0)) {
    throw new CacheError("invalid-argument", `${what}: content length must be a non-negative integer, got ${declared}`);
  }
  checkMetadata(options.metadata ?? {});
  const source = body[Symbol.asyncIterator]();
  let head: BodyHead | undefined;
  try {
    signal?.throwIfAborted();
    if (options.ifMatch !== undefined || options.ifNoneMatch !== undefined) {
      await checkWriteCondition(options, () => ctx.head(bucket, key, signal));
    }
    const threshold = ctx.options.multipartThresholdBytes;
    head =
      declared !== undefined && declared > threshold
        ? { chunks: [], size: 0, done: false }
        : await readHead(source, threshold, signal);
    if (!head.done) return await putMultipart(ctx, bucket, key, head, source, options);
    if (declared !== undefined && head.size !== declared) {
      throw new CacheError("invalid-argument", `${what}: body has ${head.size} bytes, declared ${declared}`);
    }
    const out = await ctx.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: joinChunks(head.chunks, head.size),
        ContentLength: head.size,
        ContentType: options.contentType ?? "application/octet-stream",
        Metadata: options.metadata === undefined ? undefined : { ...options.metadata },
        IfMatch: options.ifMatch,
        IfNoneMatch: options.ifNoneMatch,
      }),
      { abortSignal: signal },
    );
    return { etag: out.ETag ?? "", size: head.size };
  } catch (err) {
    const e = toCacheError(err, what, signal);
    // S3 answers If-Match on a missing key with 404: to the writer, a condition that did not hold.
    if (e.kind === "not-found" && options.ifMatch !== undefined) {
      throw new CacheError("precondition-failed", `${what}: precondition failed`, { cause: e });
    }
    throw e;
  } finally {
    // Stop the caller's producer unless the body was read to its end.
    if (head?.done !== true) void Promise.resolve(source.return?.()).catch(() => undefined);
  }
}

async function putMultipart(
  ctx: PutContext,
  bucket: string,
  key: string,
  head: BodyHead,
  source: AsyncIterator<Uint8Array>,
  options: StoragePutOptions,
): Promise<StoragePutResult> {
  let size = 0;
  const stream = uploadStream(head, source, options.contentLength, (n) => (size = n));
  const controller = new AbortController();
  const onAbort = (): void => {
    controller.abort();
    stream.destroy();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const upload = new Upload({
    client: ctx.client,
    params: {
      Bucket: bucket,
      Key: key,
      Body: stream,
      ContentType: options.contentType ?? "application/octet-stream",
      Metadata: options.metadata === undefined ? undefined : { ...options.metadata },
      // Upload passes these on to CompleteMultipartUpload, where S3 checks them.
      IfMatch: options.ifMatch,
      IfNoneMatch: options.ifNoneMatch,
    },
    partSize: ctx.options.partSizeBytes,
    queueSize: ctx.options.queueSize,
    // On failure Upload aborts the multipart upload itself; s3rver's 405 to
    // that abort is tolerated by the client (see s3-client.ts).
    leavePartsOnError: false,
    abortController: controller,
  });
  try {
    const out = await upload.done();
    return { etag: out.ETag ?? "", size };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    stream.destroy();
  }
}
