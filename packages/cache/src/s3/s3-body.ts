import { Readable } from "node:stream";
import { CacheError, isCacheError } from "../errors.js";
import { toCacheError } from "./s3-error.js";

/** A downloaded body as the storage port hands it out, plus a way to drop it unread. */
export interface ObjectBody extends AsyncIterable<Uint8Array> {
  /** Destroys the response, and with it the socket, unless it was read to the end. */
  release(): void;
}

/**
 * Wraps an SDK response body (a Node Readable over the socket) so that it
 * streams chunk by chunk, is released however the reader stops (end, error,
 * `return()` / `break`, or `signal` aborting even before the first read), and
 * fails only with CacheErrors. A released keep-alive socket is destroyed rather
 * than reused: the rest of the body was never read from it.
 */
export function objectBody(body: unknown, what: string, signal?: AbortSignal): ObjectBody {
  const stream = toReadable(body);
  let iterated = false;
  const onAbort = (): void => {
    stream.destroy();
  };
  const release = (): void => {
    signal?.removeEventListener("abort", onAbort);
    if (!stream.readableEnded) stream.destroy();
  };
  if (signal?.aborted) stream.destroy();
  else signal?.addEventListener("abort", onAbort, { once: true });
  return {
    release,
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      if (iterated) throw new TypeError(`${what}: a body can be read only once`);
      iterated = true;
      const inner = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
      return {
        async next() {
          try {
            signal?.throwIfAborted();
            const r = await inner.next();
            if (r.done === true) {
              const complete = stream.readableEnded;
              release();
              // A body destroyed before its end must not pass for a short object.
              if (!complete) throw Object.assign(new Error("body ended early"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
            }
            return r;
          } catch (err) {
            release();
            throw toCacheError(err, what, signal);
          }
        },
        async return() {
          release();
          try {
            await inner.return?.();
          } catch {
            // Already destroyed: nothing left to release.
          }
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function toReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (body === undefined || body === null) return Readable.from([]);
  // A web ReadableStream (another runtime's handler) is async-iterable in Node.
  if (typeof body === "object" && Symbol.asyncIterator in body) {
    return Readable.from(body as AsyncIterable<Uint8Array>, { objectMode: false });
  }
  throw new TypeError(`unexpected S3 body type ${Object.prototype.toString.call(body)}`);
}

/** The first bytes of an upload, read to decide between one PutObject and a multipart upload. */
export interface BodyHead {
  readonly chunks: Uint8Array[];
  readonly size: number;
  /** True when the body ended within the limit. */
  readonly done: boolean;
}

/**
 * Reads `source` until it ends or holds more than `limit` bytes, whichever is
 * first; memory stays at about `limit` plus one chunk.
 */
export async function readHead(
  source: AsyncIterator<Uint8Array>,
  limit: number,
  signal?: AbortSignal,
): Promise<BodyHead> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= limit) {
    const r = await untilAborted(nextChunk(source), signal);
    if (r.done === true) return { chunks, size, done: true };
    if (r.value.byteLength === 0) continue;
    chunks.push(r.value);
    size += r.value.byteLength;
  }
  return { chunks, size, done: false };
}

/** Settles with `work`, or rejects as soon as `signal` aborts (a stalled body must not hold a cancelled put). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * The next chunk of a body to upload. The body is the caller's (e.g. a client
 * stream): when it fails, the writer gave up, which is no fault of storage.
 * A CacheError it throws (say "too-large" from a size limit) passes unchanged.
 */
async function nextChunk(source: AsyncIterator<Uint8Array>): Promise<IteratorResult<Uint8Array>> {
  try {
    return await source.next();
  } catch (err) {
    throw isCacheError(err) ? err : new CacheError("cancelled", "the body to upload failed", { cause: err });
  }
}

/** Concatenates chunks into one Buffer without copying a single chunk. */
export function joinChunks(chunks: readonly Uint8Array[], size: number): Buffer {
  if (chunks.length === 1) return Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength);
  return Buffer.concat(chunks, size);
}

/**
 * The rest of an upload after its head, as a Node Readable for lib-storage's
 * Upload: counts the bytes, and fails (so the upload is abandoned, not
 * completed) when the total disagrees with a declared length. Destroying the
 * Readable returns `source`.
 */
export function uploadStream(
  head: BodyHead,
  source: AsyncIterator<Uint8Array>,
  declaredLength: number | undefined,
  onSize: (size: number) => void,
): Readable {
  async function* all(): AsyncGenerator<Uint8Array> {
    let size = 0;
    const add = (chunk: Uint8Array): Buffer => {
      size += chunk.byteLength;
      if (declaredLength !== undefined && size > declaredLength) {
        throw new CacheError("invalid-argument", `body is longer than its declared ${declaredLength} bytes`);
      }
      return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    };
    try {
      for (const chunk of head.chunks) yield add(chunk);
      for (;;) {
        const r = await nextChunk(source);
        if (r.done === true) break;
        if (r.value.byteLength > 0) yield add(r.value);
      }
    } finally {
      await source.return?.();
    }
    if (declaredLength !== undefined && size !== declaredLength) {
      throw new CacheError("invalid-argument", `body has ${size} bytes, declared ${declaredLength}`);
    }
    onSize(size);
  }
  return Readable.from(all(), { objectMode: false });
}
