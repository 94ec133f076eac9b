/**
 * GetObject between the wire and the cache, in one place for every path that
 * answers it (this replica's cache, a hot copy of an owner's object).
 */
import { cacheV1 } from "@breakwater/proto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { GetOptions, GetResult, RangeRequest } from "@breakwater/cache";

type GetObjectMessage = MessageInitShape<typeof cacheV1.GetObjectResponseSchema>;

/** The first message's fields besides the body: object info, cache status and route. */
export type GetObjectHead = Pick<GetObjectMessage, "info" | "cacheStatus" | "route">;

// Chunks from the cache are at most 64 KiB; storage streams may be larger.
const MAX_CHUNK = 64 * 1024;

/** What the cache's `get` takes for a GetObject request. */
export function readOptionsOf(req: cacheV1.GetObjectRequest, signal: AbortSignal): GetOptions {
  return {
    range: rangeOf(req.range),
    ifNoneMatch: req.ifNoneMatch || undefined,
    ifModifiedSince: req.ifModifiedSince ? timestampDate(req.ifModifiedSince) : undefined,
    signal,
  };
}

/**
 * A read's answer as GetObject messages: the head with the first chunk (so a
 * small object is one message; an empty one is still one), then chunks of at
 * most 64 KiB; a not-modified answer is the head alone.
 */
export async function* getObjectMessages(head: GetObjectHead, got: GetResult): AsyncGenerator<GetObjectMessage> {
  if (got.notModified) {
    yield { ...head, notModified: true };
    return;
  }
  const contentRange = got.range ? { start: BigInt(got.range.start), end: BigInt(got.range.end) } : undefined;
  let first = true;
  for await (const chunk of got.body) {
    for (let at = 0; at < chunk.byteLength || (first && chunk.byteLength === 0); at += MAX_CHUNK) {
      const piece = chunk.subarray(at, at + MAX_CHUNK);
      yield first ? { ...head, contentRange, chunk: piece } : { chunk: piece };
      first = false;
    }
  }
  if (first) yield { ...head, contentRange };
}

/** A wire byte range as the cache's. */
export function rangeOf(range: cacheV1.ByteRange | undefined): RangeRequest | undefined {
  if (range === undefined) return undefined;
  if (range.suffixLength !== undefined) return { suffix: safeNumber(range.suffixLength) };
  return { start: safeNumber(range.start), end: range.end === undefined ? undefined : safeNumber(range.end) };
}

function safeNumber(v: bigint): number {
  // Past 2^53 no object exists anyway; clamping keeps the range unsatisfiable rather than wrong.
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}
