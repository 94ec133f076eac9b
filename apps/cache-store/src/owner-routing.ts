/**
 * Every key has an owner among the replicas (docs/architecture.md "Forwarding
 * to the owner"): a replica asked for a key it does not own reads it from the
 * owner over gRPC, marking the call `bw-forwarded`, so a cold key costs one
 * storage GET for the whole fleet (the owner's single-flight coalesces).
 * A call that carries the mark is served locally: one hop at most, even when
 * two replicas disagree on the membership. When the owner cannot be reached
 * the caller falls back to its own cache and storage breaker, and says so.
 * A non-owner may keep hot copies of keys it is asked for (a second, small
 * object cache whose storage is the owner).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Counter, Histogram, type Registry } from "prom-client";
import { cacheV1 } from "@breakwater/proto";
import {
  CacheError,
  createObjectCache,
  createOwnerOrder,
  isCacheError,
  systemClock,
  type ObjectCache,
  type ObjectMeta,
  type ObjectStorage,
  type StorageGetOptions,
  type StorageGetResult,
} from "@breakwater/cache";
import { admittedClient, type CacheServiceClient, type ReplicaPool } from "@breakwater/fleet-kit";
import type { CallContext, Logger } from "@breakwater/server-kit";
import { createLogThrottle } from "@breakwater/server-kit";
import { cacheStatusOf, objectInfoOf } from "./object-info.js";
import { statsGauge } from "./cache-metrics.js";
import { getObjectMessages, readOptionsOf } from "./get-object-answer.js";

/** The metadata that marks a call forwarded by a non-owner; its value is the forwarding replica's name. */
export const FORWARDED_HEADER = "bw-forwarded";

/** Which replica answered a read, as counted in `cache_owner_reads_total{route}`. */
export type ReadRouteName = "owned" | "forwarded" | "hot" | "fallback";

/** The owner of a key, as a non-owner calls it. */
export interface Owner {
  readonly name: string;
  /**
   * A client for ONE call, admitted by the owner's breaker (`cache-store:<name>`);
   * throws OwnerDownError when the breaker refuses.
   */
  admit(): CacheServiceClient;
}

/** The owner could not be reached: the caller falls back to its own storage. */
export class OwnerDownError extends Error {
  constructor(
    readonly owner: string,
    cause: unknown,
  ) {
    super(`owner ${owner} is unreachable`, { cause });
    this.name = "OwnerDownError";
  }
}

/** True for an owner that could not be reached (also when a cache wrapped it as its storage's failure). */
export function isOwnerDown(err: unknown): err is Error {
  return err instanceof OwnerDownError || (isCacheError(err) && err.cause instanceof OwnerDownError);
}

/**
 * An owner's answer that means it is down: no connection, or UNAVAILABLE that
 * is not its own "storage is unavailable" (that one carries retry-after-ms and
 * would be the answer from any replica).
 */
function isUnreachable(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Unavailable && !err.metadata.has("retry-after-ms");
}

/** Options of {@link createOwnerRouting}. */
export interface OwnerRoutingOptions {
  /** This replica's name (advertised address). */
  readonly self: string;
  /** The other members (CACHE_STORE_PEERS, this replica left out), each behind its breaker. */
  readonly pool: ReplicaPool;
  /** Bytes of hot copies (0: no hot copies). */
  readonly hotMaxBytes: number;
  readonly hotTtlMs: number;
  /** Objects larger than this are never kept hot. */
  readonly hotMaxObjectBytes: number;
  /** Deadline of the InvalidateCache call to an owner after a write. */
  readonly invalidateTimeoutMs: number;
  readonly registry: Registry;
  readonly logger: Logger;
}

/** Ownership, forwarding, hot copies and their metrics, as the CacheService handlers use them. */
export interface OwnerRouting {
  readonly self: string;
  /** Every member's name, this replica's included. */
  readonly members: readonly string[];
  /** The hot copies, when on. */
  readonly hot: ObjectCache | undefined;
  /** The key's owner when another replica owns it and the call was not itself forwarded; else undefined. */
  ownerFor(bucket: string, key: string, ctx: Pick<CallContext, "requestHeader">): Owner | undefined;
  /** A GetObject answered by the owner (or a hot copy); throws OwnerDownError before the first message only. */
  get(
    owner: Owner,
    req: cacheV1.GetObjectRequest,
    ctx: CallContext,
  ): AsyncGenerator<MessageInitShape<typeof cacheV1.GetObjectResponseSchema>>;
  /** A HeadObject answered by the owner (or a hot copy); throws OwnerDownError when the owner is down. */
  head(
    owner: Owner,
    req: cacheV1.HeadObjectRequest,
    ctx: CallContext,
  ): Promise<MessageInitShape<typeof cacheV1.HeadObjectResponseSchema>>;
  /** Counts a read by route. */
  counted(route: ReadRouteName): void;
  /** Counts and logs a fallback to storage because the owner is down. */
  fellBack(owner: Owner, err: unknown): void;
  /**
   * After a write through this replica: drops the owner's copy (InvalidateCache,
   * local only: this replica already published the write) before the write
   * is acknowledged. A failure is logged and counted, never thrown: the
   * owner's invalidation stream from this replica and the TTL cover it.
   */
  invalidateOwner(bucket: string, key: string, ctx: Pick<CallContext, "requestHeader">): Promise<void>;
  /** Drops hot copies (a local or a peer's invalidation). */
  dropHot(bucket: string, key: string, prefix: boolean): void;
  /** Marks every hot copy as needing revalidation (a peer's stream resubscribed). */
  expireHot(): void;
}

/** Builds the replica's ownership of keys over itself and its peers, with forwarding, fallback and hot copies. */
export function createOwnerRouting(options: OwnerRoutingOptions): OwnerRouting {
  const { self, pool, logger } = options;
  const order = createOwnerOrder([self, ...pool.all.map((m) => m.name)]);
  const metrics = createOwnerMetrics(options.registry);
  const throttle = createLogThrottle({ windowMs: 1_000 });
  const forwardHeaders = { [FORWARDED_HEADER]: self };
  const callOptions = (ctx: Pick<CallContext, "signal" | "deadline">) => ({
    signal: ctx.signal,
    headers: forwardHeaders,
    timeoutMs: ctx.deadline === undefined ? undefined : Math.max(1, ctx.deadline - Date.now()),
  });
  // The owner's cache status of what the hot cache fetched, by the metadata object it stored.
  const ownerStatus = new WeakMap<ObjectMeta, cacheV1.CacheStatus>();
  const ownerOf = (bucket: string, key: string): Owner | undefined => {
    const name = order.owner(bucket, key);
    if (name === self) return undefined;
    const member = pool.all.find((m) => m.name === name);
    if (member === undefined) return undefined;
    return {
      name,
      admit() {
        if (member.breaker === undefined) return member.cache;
        const admission = member.breaker.admit();
        if (!admission.allowed) {
          throw new OwnerDownError(name, new Error(`its breaker is open (retry in ${admission.retryAfterMs} ms)`));
        }
        return admittedClient(member.cache, member.breaker, admission);
      },
    };
  };
  const hot =
    options.hotMaxBytes > 0
      ? createObjectCache({
          storage: ownerStorage(ownerOf, forwardHeaders, ownerStatus, metrics),
          clock: systemClock,
          ttlMs: options.hotTtlMs,
          maxStaleMs: options.hotTtlMs,
          negativeTtlMs: options.hotTtlMs,
          maxBytes: options.hotMaxBytes,
          maxObjectBytes: Math.min(options.hotMaxObjectBytes, options.hotMaxBytes),
        })
      : undefined;
  if (hot) metrics.registerHot(hot);

  async function* direct(
    owner: Owner,
    req: cacheV1.GetObjectRequest,
    ctx: CallContext,
  ): AsyncGenerator<MessageInitShape<typeof cacheV1.GetObjectResponseSchema>> {
    const started = performance.now();
    const iterator = owner.admit().getObject(req, callOptions(ctx))[Symbol.asyncIterator]();
    let first: IteratorResult<cacheV1.GetObjectResponse>;
    try {
      first = await iterator.next();
    } catch (err) {
      if (isUnreachable(err)) throw new OwnerDownError(owner.name, err);
      metrics.reads.inc({ route: "forwarded" }); // the owner's answer, an error (404, 416...)
      throw err;
    }
    metrics.forwardSeconds.observe({ method: "get" }, (performance.now() - started) / 1000);
    if (first.done) throw new ConnectError(`owner ${owner.name} answered no message`, Code.Internal);
    metrics.reads.inc({ route: "forwarded" });
    try {
      yield { ...first.value, route: cacheV1.ReadRoute.FORWARDED };
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    } finally {
      await iterator.return?.();
    }
  }

  async function* viaHot(
    cache: ObjectCache,
    req: cacheV1.GetObjectRequest,
    ctx: CallContext,
  ): AsyncGenerator<MessageInitShape<typeof cacheV1.GetObjectResponseSchema>> {
    const got = await cache.get(req.bucket, req.key, readOptionsOf(req, ctx.signal));
    const hit = got.status === "HIT";
    metrics.reads.inc({ route: hit ? "hot" : "forwarded" });
    const head = {
      info: objectInfoOf(req.bucket, req.key, got.meta),
      cacheStatus: hit ? cacheV1.CacheStatus.HIT : (ownerStatus.get(got.meta) ?? cacheStatusOf(got.status)),
      route: hit ? cacheV1.ReadRoute.HOT : cacheV1.ReadRoute.FORWARDED,
    };
    yield* getObjectMessages(head, got);
  }

  return {
    self,
    members: order.members,
    hot,
    ownerFor(bucket, key, ctx) {
      if (pool.all.length === 0 || ctx.requestHeader(FORWARDED_HEADER) !== undefined) return undefined;
      return ownerOf(bucket, key);
    },
    get(owner, req, ctx) {
      return hot ? viaHot(hot, req, ctx) : direct(owner, req, ctx);
    },
    async head(owner, req, ctx) {
      if (hot) {
        const got = await hot.head(req.bucket, req.key, { signal: ctx.signal });
        const hit = got.status === "HIT";
        metrics.reads.inc({ route: hit ? "hot" : "forwarded" });
        return {
          info: objectInfoOf(req.bucket, req.key, got.meta),
          cacheStatus: hit ? cacheV1.CacheStatus.HIT : (ownerStatus.get(got.meta) ?? cacheStatusOf(got.status)),
          route: hit ? cacheV1.ReadRoute.HOT : cacheV1.ReadRoute.FORWARDED,
        };
      }
      const started = performance.now();
      let answer: cacheV1.HeadObjectResponse;
      try {
        answer = await owner.admit().headObject(req, callOptions(ctx));
      } catch (err) {
        if (isUnreachable(err)) throw new OwnerDownError(owner.name, err);
        metrics.reads.inc({ route: "forwarded" });
        throw err;
      }
      metrics.forwardSeconds.observe({ method: "head" }, (performance.now() - started) / 1000);
      metrics.reads.inc({ route: "forwarded" });
      return { ...answer, route: cacheV1.ReadRoute.FORWARDED };
    },
    counted: (route) => metrics.reads.inc({ route }),
    fellBack(owner, err) {
      metrics.reads.inc({ route: "fallback" });
      const { write, suppressed } = throttle.admit(owner.name);
      if (write) {
        logger.warn(
          { owner: owner.name, err: (err as Error).cause ?? err, suppressed },
          "key owner unreachable: reading through this replica's own cache and storage",
        );
      }
    },
    async invalidateOwner(bucket, key, ctx) {
      const owner = this.ownerFor(bucket, key, ctx);
      if (owner === undefined) return;
      try {
        await owner
          .admit()
          .invalidateCache(
            { bucket, key, localOnly: true },
            { headers: forwardHeaders, timeoutMs: options.invalidateTimeoutMs },
          );
        metrics.ownerInvalidations.inc({ outcome: "ok" });
      } catch (err) {
        metrics.ownerInvalidations.inc({ outcome: "failed" });
        const { write, suppressed } = throttle.admit(`invalidate:${owner.name}`);
        if (write) {
          logger.warn(
            { owner: owner.name, bucket, key, err, suppressed },
            "could not drop the owner's copy after a write; its invalidation stream and TTL will",
          );
        }
      }
    },
    dropHot(bucket, key, prefix) {
      hot?.invalidate(bucket, key, { prefix, publish: false });
    },
    expireHot() {
      hot?.expireAll();
    },
  };
}

/**
 * The hot cache's storage: the key's owner over gRPC. Reads only; what the
 * owner answers becomes the CacheErrors the cache expects, and an owner that
 * cannot be reached an OwnerDownError (the cache passes it on as the cause of
 * its "unavailable").
 */
function ownerStorage(
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

/** An owner's error as the cache's: what it answered as the same CacheError, unreachable as OwnerDownError. */
function asStorageError(owner: Owner, err: unknown): unknown {
  if (isCacheError(err) || !(err instanceof ConnectError)) return err;
  if (isUnreachable(err)) return new OwnerDownError(owner.name, err);
  const options = { cause: err };
  switch (err.code) {
    case Code.NotFound:
      return new CacheError("not-found", err.rawMessage, options);
    case Code.InvalidArgument:
      return new CacheError("invalid-argument", err.rawMessage, options);
    case Code.FailedPrecondition:
      return new CacheError("precondition-failed", err.rawMessage, options);
    case Code.OutOfRange: {
      const size = err.metadata.get("object-size");
      return new CacheError("range-not-satisfiable", err.rawMessage, {
        ...options,
        objectSize: size === null ? undefined : Number(size),
      });
    }
    case Code.ResourceExhausted:
      return new CacheError("too-large", err.rawMessage, options);
    case Code.Canceled:
      return new CacheError("cancelled", err.rawMessage, options);
    case Code.Unavailable:
      return new CacheError("unavailable", err.rawMessage, {
        ...options,
        retryAfterMs: Number(err.metadata.get("retry-after-ms") ?? 1000),
      });
    default:
      return err;
  }
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

interface OwnerMetrics {
  readonly reads: Counter<"route">;
  readonly forwardSeconds: Histogram<"method">;
  readonly ownerInvalidations: Counter<"outcome">;
  registerHot(hot: ObjectCache): void;
}

/** Reads by route, the forwarding hop's latency, owner invalidations, hot copies. Every series exists from 0. */
function createOwnerMetrics(registry: Registry): OwnerMetrics {
  const reads = new Counter({
    name: "cache_owner_reads_total",
    help:
      "Reads (GetObject, HeadObject) by who answered: owned here, forwarded to the owner, a hot copy here, " +
      "or a fallback to this replica's storage because the owner was unreachable",
    labelNames: ["route"],
    registers: [registry],
  });
  for (const route of ["owned", "forwarded", "hot", "fallback"]) reads.inc({ route }, 0);
  const forwardSeconds = new Histogram({
    name: "cache_forward_duration_seconds",
    help: "Time from a forwarded call to the owner's first answer (GetObject headers, HeadObject answer)",
    labelNames: ["method"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const ownerInvalidations = new Counter({
    name: "cache_owner_invalidations_total",
    help: "InvalidateCache calls to a key's owner after a write through this replica, by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  for (const outcome of ["ok", "failed"]) ownerInvalidations.inc({ outcome }, 0);
  return {
    reads,
    forwardSeconds,
    ownerInvalidations,
    registerHot(hot) {
      const gauge = statsGauge(registry, hot);
      gauge("cache_hot_hits_total", "Reads answered from a hot copy of a key another replica owns", (s) => s.hits);
      gauge("cache_hot_bytes", "Body bytes of hot copies held", (s) => s.bytes);
      gauge("cache_hot_entries", "Hot copies held, cached 404s included", (s) => s.entries);
    },
  };
}
