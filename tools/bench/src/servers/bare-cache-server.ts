import * as grpc from "@grpc/grpc-js";

/** Largest body chunk per GetObject message, as the cache-store sends them. */
export const chunkBytes = 64 * 1024;

/** The bench's objects: same keys, sizes and bytes on the cache-store and the baseline. */
export const benchObjects = [
  { key: "bench/1k.bin", size: 1024 },
  { key: "bench/256k.bin", size: 256 * 1024 },
] as const;

/** Deterministic body of `size` bytes, so the child needs no bytes from the bench. */
export function benchBody(size: number): Buffer {
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + 7) & 0xff;
  return body;
}

/** The object info fields the baseline answers (those the cache-store answers for a plain put). */
export interface BareObject {
  readonly bucket: string;
  readonly key: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  readonly lastModifiedSeconds: bigint;
}

interface GetObjectRequest {
  readonly bucket: string;
  readonly key: string;
}

/**
 * The baseline: CacheService.GetObject written by hand against grpc-js,
 * answering from memory in the cache-store's message shape (first message:
 * info + cache status HIT + the first ≤ 64 KiB chunk; then 64 KiB chunks),
 * with backpressure. Unknown objects answer NOT_FOUND; every other method is
 * left to grpc-js's default (UNIMPLEMENTED).
 */
export function bareCacheHandlers(objects: readonly BareObject[]): grpc.UntypedServiceImplementation {
  const byName = new Map(objects.map((o) => [`${o.bucket}/${o.key}`, o]));
  return {
    getObject(call: grpc.ServerWritableStream<GetObjectRequest, object>) {
      const o = byName.get(`${call.request.bucket}/${call.request.key}`);
      if (o === undefined) {
        call.emit("error", { code: grpc.status.NOT_FOUND, details: "no such object" });
        return;
      }
      const info = {
        bucket: o.bucket,
        key: o.key,
        size: BigInt(o.body.byteLength),
        contentType: o.contentType,
        etag: o.etag,
        lastModified: { seconds: o.lastModifiedSeconds, nanos: 0 },
      };
      let at = 0;
      let first = true;
      const writeSome = (): void => {
        while (first || at < o.body.byteLength) {
          if (call.cancelled) return;
          const chunk = o.body.subarray(at, at + chunkBytes);
          at += chunk.byteLength;
          const message = first ? { info, cacheStatus: 1 /* CACHE_STATUS_HIT */, chunk } : { chunk };
          first = false;
          if (!call.write(message) && at < o.body.byteLength) {
            call.once("drain", writeSome);
            return;
          }
        }
        call.end();
      };
      writeSome();
    },
  };
}
