/**
 * The cache-store replicas a service calls (the gateway's upstreams, a
 * replica's peers): one CacheService channel and one health channel per
 * member, each behind its coordinated breaker when breakers are in use. A
 * member is named by its gRPC address (`grpcTarget(url)`), as every process
 * names it, so they agree on every key's owner (`createOwnerOrder`).
 */
import { createOwnerOrder, type OwnerOrder } from "@breakwater/cache";
import { cacheV1, healthV1 } from "@breakwater/proto";
import { createGrpcClient, grpcTarget, type GrpcClient } from "@breakwater/server-kit";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Admission,
  type BreakerClient,
  type RefusedAdmission,
  type CoordinatedBreaker,
  isGrpcFailure,
} from "@breakwater/breaker/session";
import { createCacheServiceClient, type CacheServiceClient } from "./cache-service-client.js";

/** One cache-store replica of a pool. */
export interface Replica {
  /** The URL it was given as. */
  readonly url: string;
  /** Its member name: `grpcTarget(url)`, `host:port`. */
  readonly name: string;
  /** Its breaker (`cache-store:<name>`), when breakers are in use. */
  readonly breaker?: CoordinatedBreaker | undefined;
  readonly cache: CacheServiceClient;
  readonly health: GrpcClient<typeof healthV1.Health>;
}

/** A replica chosen for one call: its `cache` client is admitted by its breaker for that call. */
export interface RoutedReplica extends Replica {
  /** True when it is the key's owner (first in owner order), false for a fallback or round robin. */
  readonly owner: boolean;
}

/** Options of {@link createReplicaPool}. */
export interface ReplicaPoolOptions {
  /** Puts each member behind its coordinated breaker, named by `breakerName`. */
  readonly breakers?: BreakerClient | undefined;
  /** A member's breaker name; `cache-store:<name>` (design.md "Breakers") unless given. */
  readonly breakerName?: (name: string) => string;
}

/** Cache-store replicas by member name, with round robin and owner order. */
export interface ReplicaPool {
  /** The current members, in the order given to the pool. */
  readonly all: readonly Replica[];
  /** The key ownership over the current members. */
  readonly ownership: OwnerOrder;
  /**
   * The replica for the next call, round robin over those whose breaker
   * admits it; its `cache` client is good for that one call. Throws
   * UNAVAILABLE (with retry-after-ms) when every breaker refuses.
   */
  pick(): RoutedReplica;
  /**
   * The replicas for a call on `bucket/key`, its owner first, then its
   * fallbacks, skipping those whose breaker refuses. Lazy: a breaker is
   * asked only when the caller takes the next replica (a half-open probe
   * permit is never taken for a call that is not made), and each client is
   * good for one call. The first `next()` throws UNAVAILABLE (with
   * retry-after-ms) when every breaker refuses.
   */
  order(bucket: string, key: string): Iterable<RoutedReplica>;
  /**
   * Changes the members at run time: channels of members that stay are kept,
   * new ones are dialed, removed ones are closed once their calls have ended
   * (a stream still open on them included); ownership is recomputed.
   */
  setMembers(urls: readonly string[]): void;
  /** True when at least one member whose breaker is not open answers its health check SERVING. */
  ready(): Promise<boolean>;
  close(): void;
}

/** The breaker name of a cache-store replica (design.md "Breakers"). */
export function replicaBreakerName(url: string): string {
  return `cache-store:${grpcTarget(url)}`;
}

/** A replica with the calls it has in flight, so a removed one closes when they end. */
interface Member extends Replica {
  inFlight: number;
  removed: boolean;
}

/** Dials `urls` (deduplicated by member name); with `breakers`, each behind its coordinated breaker. */
export function createReplicaPool(urls: readonly string[], options: ReplicaPoolOptions = {}): ReplicaPool {
  const { breakers } = options;
  const breakerName = options.breakerName ?? ((name: string) => `cache-store:${name}`);
  let members: Member[] = [];
  let byName = new Map<string, Member>();
  let ownership = createOwnerOrder([]);
  let next = 0;
  let closed = false;

  function dial(url: string, name: string): Member {
    // A cache-store back after an outage gets its traffic (and a follower its stream) within 5 s.
    const raw = createCacheServiceClient(url, { reconnect: { initialMs: 100, maxMs: 5_000 } });
    const health = createGrpcClient(healthV1.Health, url);
    const counted = guardedClient(raw, {
      start: () => void member.inFlight++,
      end: () => {
        if (--member.inFlight === 0 && member.removed) closeMember(member);
      },
    });
    const member: Member = {
      url,
      name,
      breaker: breakers?.breaker(breakerName(name)),
      cache: counted,
      health,
      inFlight: 0,
      removed: false,
    };
    return member;
  }

  function setMembers(list: readonly string[]): void {
    const kept = new Map<string, Member>();
    for (const url of list) {
      const name = grpcTarget(url);
      if (kept.has(name)) continue;
      kept.set(name, byName.get(name) ?? dial(url, name));
    }
    for (const [name, m] of byName) {
      if (kept.has(name)) continue;
      m.removed = true;
      if (m.inFlight === 0) closeMember(m);
    }
    byName = kept;
    members = [...kept.values()];
    ownership = createOwnerOrder(members.map((m) => m.name));
  }

  function admitted(m: Member, owner: boolean): RoutedReplica | RefusedAdmission {
    if (m.breaker === undefined) return { ...publicOf(m), owner };
    const admission = m.breaker.admit();
    if (!admission.allowed) return admission;
    return { ...publicOf(m), owner, cache: admittedClient(m.cache, m.breaker, admission) };
  }

  setMembers(urls);

  return {
    get all() {
      return members;
    },
    get ownership() {
      return ownership;
    },
    pick() {
      const current = members;
      let retryAfterMs = Infinity;
      for (let tried = 0; tried < current.length; tried++) {
        const got = admitted(current[next++ % current.length]!, false);
        if ("name" in got) return got;
        retryAfterMs = Math.min(retryAfterMs, got.retryAfterMs);
      }
      throw noUpstreamError(Number.isFinite(retryAfterMs) ? retryAfterMs : 1000);
    },
    *order(bucket, key) {
      const current = byName;
      const names = ownership.order(bucket, key);
      let retryAfterMs = Infinity;
      let taken = 0;
      for (let i = 0; i < names.length; i++) {
        const got = admitted(current.get(names[i]!)!, i === 0);
        if ("name" in got) {
          taken++;
          yield got;
        } else retryAfterMs = Math.min(retryAfterMs, got.retryAfterMs);
      }
      if (taken === 0) throw noUpstreamError(Number.isFinite(retryAfterMs) ? retryAfterMs : 1000);
    },
    setMembers(list) {
      if (closed) throw new Error("replica pool is closed");
      setMembers(list);
    },
    async ready() {
      const checks = members
        .filter((m) => m.breaker?.state() !== "open")
        .map((m) =>
          m.health.check({ service: "breakwater.cache.v1.CacheService" }, { timeoutMs: 1000 }).then(
            (r) => r.status === healthV1.HealthCheckResponse_ServingStatus.SERVING,
            () => false,
          ),
        );
      return (await Promise.all(checks)).some(Boolean);
    },
    close() {
      closed = true;
      for (const m of members) closeMember(m);
    },
  };
}

function publicOf(m: Member): Replica {
  return { url: m.url, name: m.name, breaker: m.breaker, cache: m.cache, health: m.health };
}

function closeMember(m: Member): void {
  m.removed = true;
  m.cache.close();
  m.health.close();
}

/**
 * True when a replica's error counts against its breaker: a gRPC failure
 * (isGrpcFailure, design.md "Breakers"), with one exception. A cache-store's
 * own "storage is unavailable" answer (UNAVAILABLE with a `retry-after-ms`
 * trailer, design.md "CacheService") is the cache-store answering, not
 * failing: its storage breaker already guards S3, and counting it here would
 * open every replica's breaker during an S3 outage, so keys the replicas hold
 * stale would get 503 too (docs/decisions.md).
 */
export function isUpstreamFailure(err: unknown): boolean {
  if (err instanceof ConnectError && err.code === Code.Unavailable && err.metadata.has("retry-after-ms")) return false;
  return isGrpcFailure(err);
}

/** The error of a call no replica would take: every breaker is open. */
export function noUpstreamError(retryAfterMs: number): ConnectError {
  return new ConnectError(
    "every cache-store upstream is unavailable (circuit breakers open)",
    Code.Unavailable,
    new Headers({ "retry-after-ms": String(Math.max(1, Math.round(retryAfterMs))) }),
  );
}

/**
 * A CacheService client for ONE call, admitted by the replica's breaker: the
 * call's outcome (a stream's, when it ends) goes back to the breaker with its
 * admission, so a half-open probe's permit returns too. A call the caller
 * cancels is not counted (a probe's is, as a failure, so it cannot close the
 * breaker on no evidence).
 */
export function admittedClient(
  client: CacheServiceClient,
  breaker: CoordinatedBreaker,
  admission: Admission,
): CacheServiceClient {
  let recorded = false;
  let started = 0;
  return guardedClient(client, {
    start: () => void (started = performance.now()),
    end: (err) => {
      if (recorded) return;
      recorded = true;
      const cancelled = err instanceof ConnectError && err.code === Code.Canceled;
      if (cancelled && admission.kind !== "probe") return;
      breaker.record(
        err === undefined || (!cancelled && !isUpstreamFailure(err)),
        performance.now() - started,
        admission,
      );
    },
  });
}

/**
 * Wraps every CacheService method of `client`: `start` before each call,
 * `end` once when it settles (a stream when it ends; a stream its consumer
 * stops reading ends without error if a message came, else as cancelled).
 */
function guardedClient(
  client: CacheServiceClient,
  hooks: { start(): void; end(err: unknown): void },
): CacheServiceClient {
  const guarded: Record<string, unknown> = { channel: client.channel, close: () => client.close() };
  for (const method of cacheV1.CacheService.methods) {
    const call = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method.localName]!;
    guarded[method.localName] =
      method.methodKind === "server_streaming"
        ? async function* (req: unknown, options: unknown) {
            hooks.start();
            let answered = false;
            let ended = false;
            const end = (err: unknown): void => {
              if (ended) return;
              ended = true;
              hooks.end(err);
            };
            try {
              for await (const message of call(req, options) as AsyncIterable<unknown>) {
                answered = true;
                yield message;
              }
              end(undefined);
            } catch (err) {
              end(err);
              throw err;
            } finally {
              end(answered ? undefined : new ConnectError("stopped early", Code.Canceled));
            }
          }
        : async (req: unknown, options: unknown) => {
            hooks.start();
            try {
              const out = await (call(req, options) as Promise<unknown>);
              hooks.end(undefined);
              return out;
            } catch (err) {
              hooks.end(err);
              throw err;
            }
          };
  }
  return guarded as unknown as CacheServiceClient;
}
