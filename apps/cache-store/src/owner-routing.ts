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
import type { Registry } from "prom-client";
import { cacheV1 } from "@breakwater/proto";
import { createObjectCache, createOwnerOrder, systemClock, type ObjectCache, type ObjectMeta } from "@breakwater/cache";
import { admittedClient, type CacheServiceClient, type ReplicaPool } from "@breakwater/fleet-kit";
import type { CallContext, Logger } from "@breakwater/server-kit";
import { createLogThrottle } from "@breakwater/server-kit";
import { cacheStatusOf, objectInfoOf } from "./object-info.js";
import { getObjectMessages, readOptionsOf } from "./get-object-answer.js";
import { OwnerDownError, isUnreachable } from "./owner-errors.js";
import { createOwnerMetrics } from "./owner-metrics.js";
import { ownerStorage } from "./owner-storage.js";

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

/** Options of {@link createOwnerRouting}. */
export interface OwnerRoutingOptions {
  /** This replica's name (advertised address). */
  readonly self: string;
  /** The other members (this replica left out), each behind its breaker; call `membersChanged` after `setMembers`. */
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
  /** The pool's members changed (`pool.setMembers`): keys are owned anew over them and this replica. */
  membersChanged(): void;
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
  const ownershipOver = () => createOwnerOrder([self, ...pool.all.map((m) => m.name)]);
  let order = ownershipOver();
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
    get members() {
      return order.members;
    },
    membersChanged() {
      // Hot copies stay: they are kept coherent by the invalidations whoever owns a key publishes.
      order = ownershipOver();
    },
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
