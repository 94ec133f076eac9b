import { cacheV1 } from "@breakwater/proto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { service, type CallContext, type ServiceRegistration } from "@breakwater/server-kit";
import { CacheError, checkObjectName, type ObjectCache } from "@breakwater/cache";
import { cacheStatusOf, objectInfoOf } from "./object-info.js";
import { getObjectMessages, readOptionsOf } from "./get-object-answer.js";
import type { BreakerStatusSource } from "./breaker-status.js";
import { isOwnerDown } from "./owner-errors.js";
import type { OwnerRouting } from "./owner-routing.js";

/** What the CacheService implementation works with. */
export interface CacheServiceDeps {
  readonly cache: ObjectCache;
  /** Largest object a PutObject may store. */
  readonly maxPutBytes: number;
  /** Identifies this replica to WatchInvalidations subscribers; new per process. */
  readonly replicaId: string;
  /** The breakers this replica applies, for GetStats. */
  readonly breakers?: BreakerStatusSource;
  /**
   * Aborts when the server shuts down: WatchInvalidations streams end then
   * (subscribers resubscribe elsewhere), once the writes still in flight
   * have finished and their invalidations are sent.
   */
  readonly shutdown?: AbortSignal;
  /**
   * Ownership of keys among the replicas, read at each call (it exists once
   * the server is bound and knows its name); without it every key is owned here.
   */
  readonly routing?: OwnerRouting | undefined;
}

/**
 * breakwater.cache.v1.CacheService over the object cache (design.md
 * "CacheService"). Handlers throw CacheErrors; `toServiceError`, given when
 * the service is mounted, turns them into gRPC statuses.
 */
export function cacheService(deps: CacheServiceDeps): ServiceRegistration {
  const { cache } = deps;
  // Writes in flight, and the watch streams to wake when the last one ends:
  // during a shutdown's drain, a write that finishes must still reach them.
  let writesInFlight = 0;
  const watchers = new Set<() => void>();
  async function write<T>(run: () => Promise<T>): Promise<T> {
    writesInFlight++;
    try {
      return await run();
    } finally {
      if (--writesInFlight === 0) for (const wakeWatcher of watchers) wakeWatcher();
    }
  }
  /** A read answered by this replica's own cache (and storage). */
  async function* localGet(
    req: cacheV1.GetObjectRequest,
    ctx: CallContext,
    route: cacheV1.ReadRoute,
  ): AsyncGenerator<MessageInitShape<typeof cacheV1.GetObjectResponseSchema>> {
    const got = await cache.get(req.bucket, req.key, readOptionsOf(req, ctx.signal));
    const head = { info: objectInfoOf(req.bucket, req.key, got.meta), cacheStatus: cacheStatusOf(got.status), route };
    yield* getObjectMessages(head, got);
  }
  const registration = service(cacheV1.CacheService, {
    async *getObject(req, ctx) {
      const routing = deps.routing;
      checkObjectName(req.bucket, req.key);
      const owner = routing?.ownerFor(req.bucket, req.key, ctx);
      if (owner === undefined) {
        routing?.counted("owned");
        yield* localGet(req, ctx, cacheV1.ReadRoute.OWNED);
        return;
      }
      try {
        // OwnerDownError comes before the first message only: nothing was sent yet.
        yield* routing!.get(owner, req, ctx);
        return;
      } catch (err) {
        if (!isOwnerDown(err)) throw err;
        routing!.fellBack(owner, err);
      }
      yield* localGet(req, ctx, cacheV1.ReadRoute.OWNER_FALLBACK);
    },

    async headObject(req, ctx) {
      const routing = deps.routing;
      checkObjectName(req.bucket, req.key);
      const owner = routing?.ownerFor(req.bucket, req.key, ctx);
      let route = cacheV1.ReadRoute.OWNED;
      if (owner === undefined) routing?.counted("owned");
      else {
        try {
          return await routing!.head(owner, req, ctx);
        } catch (err) {
          if (!isOwnerDown(err)) throw err;
          routing!.fellBack(owner, err);
          route = cacheV1.ReadRoute.OWNER_FALLBACK;
        }
      }
      const got = await cache.head(req.bucket, req.key, { signal: ctx.signal });
      return { info: objectInfoOf(req.bucket, req.key, got.meta), cacheStatus: cacheStatusOf(got.status), route };
    },

    async putObject(requests, ctx) {
      const routing = deps.routing;
      const iterator = requests[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done || first.value.part.case !== "header") {
        throw new CacheError("invalid-argument", "the first PutObject message must be the header (bucket, key, ...)");
      }
      const header = first.value.part.value;
      checkObjectName(header.bucket, header.key);
      const declared = header.contentLength === undefined ? undefined : Number(header.contentLength);
      if (declared !== undefined && declared > deps.maxPutBytes) throw tooLarge(deps.maxPutBytes);
      const put = await write(() =>
        cache.put(header.bucket, header.key, bodyOf(iterator, deps.maxPutBytes, declared, ctx), {
          contentType: header.contentType || "application/octet-stream",
          metadata: header.metadata,
          contentLength: declared,
          ifMatch: header.ifMatch || undefined,
          ifNoneMatch: header.ifNoneMatch || undefined,
          signal: ctx.signal,
        }),
      );
      // Read-your-writes through any replica: the owner's copy is gone before the write is acknowledged.
      await routing?.invalidateOwner(header.bucket, header.key, ctx);
      return { etag: put.etag, size: BigInt(put.size) };
    },

    async deleteObject(req, ctx) {
      const routing = deps.routing;
      checkObjectName(req.bucket, req.key);
      await write(() => cache.delete(req.bucket, req.key, { signal: ctx.signal }));
      await routing?.invalidateOwner(req.bucket, req.key, ctx);
      return {};
    },

    async invalidateCache(req) {
      const routing = deps.routing;
      checkObjectName(req.bucket, req.key, { prefix: req.prefix });
      const count = cache.invalidate(req.bucket, req.key, { prefix: req.prefix, publish: !req.localOnly });
      routing?.dropHot(req.bucket, req.key, req.prefix);
      return { invalidatedEntries: BigInt(count) };
    },

    async getStats() {
      const routing = deps.routing;
      const s = cache.stats();
      return {
        hits: BigInt(s.hits),
        misses: BigInt(s.misses),
        staleServed: BigInt(s.staleServed),
        revalidations: BigInt(s.revalidations),
        coalesced: BigInt(s.coalesced),
        bypassed: BigInt(s.bypassed),
        evictions: BigInt(s.evictions),
        bytes: BigInt(s.bytes),
        maxBytes: BigInt(s.maxBytes),
        entries: BigInt(s.entries),
        breakers: deps.breakers?.() ?? [],
        membership: routing ? { self: routing.self, members: [...routing.members].sort() } : undefined,
        hotHits: BigInt(routing?.hot?.stats().hits ?? 0),
        hotBytes: BigInt(routing?.hot?.stats().bytes ?? 0),
      };
    },

    async *watchInvalidations(req, ctx) {
      // Subscribe before answering `subscribed`, so nothing published after it is missed.
      const queue: cacheV1.WatchInvalidationsResponse["event"][] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = cache.onInvalidation((inv) => {
        if (req.bucket !== "" && inv.bucket !== req.bucket) return;
        queue.push({
          case: "invalidation",
          value: {
            $typeName: "breakwater.cache.v1.Invalidation",
            bucket: inv.bucket,
            key: inv.key,
            prefix: inv.prefix,
            cause: causeOf(inv.cause),
            sequence: BigInt(inv.sequence),
          },
        });
        wake?.();
      });
      const onAbort = (): void => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      deps.shutdown?.addEventListener("abort", onAbort);
      watchers.add(onAbort);
      // Shutting down, the stream ends once no write is in flight and all it published is sent.
      const drained = (): boolean => deps.shutdown?.aborted === true && writesInFlight === 0;
      try {
        yield {
          event: {
            case: "subscribed",
            value: {
              $typeName: "breakwater.cache.v1.Subscribed",
              replicaId: deps.replicaId,
              // Read after subscribing: what is published from now on is queued for this stream.
              lastSequence: BigInt(cache.invalidationSequence),
            },
          },
        };
        while (!ctx.signal.aborted) {
          const next = queue.shift();
          if (next !== undefined) yield { event: next };
          else if (drained()) break;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        unsubscribe();
        watchers.delete(onAbort);
        ctx.signal.removeEventListener("abort", onAbort);
        deps.shutdown?.removeEventListener("abort", onAbort);
      }
    },
  });
  // The request path gets server spans; the invalidation stream lives as long as its subscriber.
  return { ...registration, tracedMethods: [...tracedMethods] };
}

const tracedMethods = ["getObject", "headObject", "putObject", "deleteObject", "invalidateCache", "getStats"] as const;

function causeOf(cause: "put" | "delete" | "purge"): cacheV1.InvalidationCause {
  return cause === "put"
    ? cacheV1.InvalidationCause.PUT
    : cause === "delete"
      ? cacheV1.InvalidationCause.DELETE
      : cacheV1.InvalidationCause.PURGE;
}

function tooLarge(max: number): CacheError {
  return new CacheError("too-large", `the object is larger than the limit of ${max} bytes`);
}

/**
 * The body chunks of a PutObject stream, held to the size limit and the
 * declared length. It fails with CacheErrors only: storage adapters pass those
 * on unchanged, while any other error from a body is taken for the writer
 * giving up (CANCELLED).
 */
async function* bodyOf(
  iterator: AsyncIterator<cacheV1.PutObjectRequest>,
  max: number,
  declared: number | undefined,
  ctx: CallContext,
): AsyncGenerator<Uint8Array> {
  let received = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    const part = next.value.part;
    if (part.case !== "chunk")
      throw new CacheError("invalid-argument", "only the first PutObject message may be a header");
    received += part.value.byteLength;
    if (received > max) throw tooLarge(max);
    if (declared !== undefined && received > declared) {
      throw new CacheError("invalid-argument", `the body is longer than the declared content_length ${declared}`);
    }
    yield part.value;
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (declared !== undefined && received !== declared) {
    throw new CacheError(
      "invalid-argument",
      `the body is ${received} bytes, not the declared content_length ${declared}`,
    );
  }
}
