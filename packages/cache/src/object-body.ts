/**
 * Object bodies: held whole in the cache, handed out in chunks of at most
 * 64 KiB (CacheService sends one chunk per message), collected from storage
 * with the declared size as a hard limit.
 */
import { CacheError } from "./errors.js";

/** A cached body: one buffer or the chunks as they arrived. */
export type ObjectBody = Uint8Array | readonly Uint8Array[];

/** The largest chunk an answer carries (design.md: GetObject chunks ≤ 64 KiB). */
export const MAX_CHUNK_BYTES = 64 * 1024;

/** Total bytes of a body. */
export function bodyLength(body: ObjectBody): number {
  if (body instanceof Uint8Array) return body.byteLength;
  let n = 0;
  for (const c of body) n += c.byteLength;
  return n;
}

/**
 * Bytes `start` (inclusive) to `end` (exclusive) of a body as views of at most
 * `maxChunk` bytes; no copies, so callers must not write to them.
 */
export function* bodySlices(
  body: ObjectBody,
  start = 0,
  end = bodyLength(body),
  maxChunk = MAX_CHUNK_BYTES,
): Generator<Uint8Array> {
  const parts = body instanceof Uint8Array ? [body] : body;
  let offset = 0;
  for (const part of parts) {
    const partEnd = offset + part.byteLength;
    let from = Math.max(start, offset);
    const to = Math.min(end, partEnd);
    while (from < to) {
      const n = Math.min(maxChunk, to - from);
      yield part.subarray(from - offset, from - offset + n);
      from += n;
    }
    offset = partEnd;
    if (offset >= end) return;
  }
}

/** An async iterable over a sync one, for answers served from memory. */
export async function* asAsync(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

/** An empty body (not-modified answers). */
export const emptyBody: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => asAsync([]) };

/** Passes a stream through, splitting chunks larger than `maxChunk`. */
export async function* rechunk(
  source: AsyncIterable<Uint8Array>,
  maxChunk = MAX_CHUNK_BYTES,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    if (chunk.byteLength <= maxChunk) yield chunk;
    else yield* bodySlices(chunk, 0, chunk.byteLength, maxChunk);
  }
}

/**
 * Reads a storage body of a declared size into one buffer of exactly that
 * size (a copy, so the cache never pins a producer's larger or reused
 * buffers). More or fewer bytes than declared means a broken download:
 * CacheError "unavailable". An aborted signal stops it with "cancelled".
 */
export async function collectBody(
  source: AsyncIterable<Uint8Array>,
  size: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let offset = 0;
  // Leaving the loop early (throw) returns the source's iterator, which
  // releases the storage connection.
  for await (const chunk of source) {
    if (signal?.aborted) throw new CacheError("cancelled", "the read was cancelled", { cause: signal.reason });
    if (offset + chunk.byteLength > size) {
      throw new CacheError("unavailable", "storage sent more bytes than the object's declared size");
    }
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  if (offset !== size) throw new CacheError("unavailable", `storage body ended after ${offset} of ${size} bytes`);
  return out;
}

/** Closes a body nobody will read, releasing its connection. */
export async function discardBody(source: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    await source[Symbol.asyncIterator]().return?.();
  } catch {
    // Closing is best effort; the body was unwanted anyway.
  }
}

/** A body passed through with a copy kept of it, while it fits. */
export interface KeptCopy {
  /** The source's chunks, unchanged, for the consumer (storage). */
  readonly body: AsyncIterable<Uint8Array>;
  /** The chunks that went through, or undefined once they added up to more than the limit. */
  kept(): readonly Uint8Array[] | undefined;
}

/**
 * Passes `source` through and copies each chunk (a producer may reuse its
 * buffers) until more than `limit` bytes went by: a write-through keeps a
 * small object's body without reading it twice, and a large one costs nothing.
 */
export function keepCopy(source: AsyncIterable<Uint8Array>, limit: number): KeptCopy {
  let parts: Uint8Array[] | undefined = [];
  let total = 0;
  async function* body(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      if (parts !== undefined) {
        total += chunk.byteLength;
        if (total > limit) parts = undefined;
        else parts.push(chunk.slice());
      }
      yield chunk;
    }
  }
  return { body: body(), kept: () => parts };
}
