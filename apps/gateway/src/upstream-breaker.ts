import { cacheV1 } from "@breakwater/proto";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Admission, type CoordinatedBreaker, isGrpcFailure } from "@breakwater/breaker/session";
import type { CacheServiceClient as CacheClient } from "@breakwater/fleet-kit";

/**
 * True when an upstream error counts against the upstream's breaker: a gRPC
 * failure (isGrpcFailure, design.md "Breakers"), with one exception. A
 * cache-store's own "storage is unavailable" answer (UNAVAILABLE with a
 * `retry-after-ms` trailer, design.md "CacheService") is the cache-store
 * answering, not failing: its storage breaker already guards S3, and counting
 * it here would open every upstream during an S3 outage, so keys the replicas
 * hold stale would get 503 too (docs/decisions.md).
 */
export function isUpstreamFailure(err: unknown): boolean {
  if (err instanceof ConnectError && err.code === Code.Unavailable && err.metadata.has("retry-after-ms")) return false;
  return isGrpcFailure(err);
}

/**
 * A CacheService client for ONE call, admitted by the upstream's breaker:
 * the call's outcome (a stream's, when it ends) goes back to the breaker with
 * its admission, so a half-open probe's permit returns too. A call the caller
 * cancels is not counted (a probe's is, as a failure, so it cannot close the
 * breaker on no evidence).
 */
export function admittedClient(client: CacheClient, breaker: CoordinatedBreaker, admission: Admission): CacheClient {
  let recorded = false;
  const record = (err: unknown, started: number): void => {
    if (recorded) return;
    recorded = true;
    const cancelled = err instanceof ConnectError && err.code === Code.Canceled;
    if (cancelled && admission.kind !== "probe") return;
    breaker.record(
      err === undefined || (!cancelled && !isUpstreamFailure(err)),
      performance.now() - started,
      admission,
    );
  };
  const guarded: Record<string, unknown> = { channel: client.channel, close: () => client.close() };
  for (const method of cacheV1.CacheService.methods) {
    const call = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method.localName]!;
    guarded[method.localName] =
      method.methodKind === "server_streaming"
        ? async function* (req: unknown, options: unknown) {
            const started = performance.now();
            let answered = false;
            try {
              for await (const message of call(req, options) as AsyncIterable<unknown>) {
                answered = true;
                yield message;
              }
              record(undefined, started);
            } catch (err) {
              record(err, started);
              throw err;
            } finally {
              // The consumer stopped reading: the upstream answered if a message came.
              record(answered ? undefined : new ConnectError("stopped early", Code.Canceled), started);
            }
          }
        : async (req: unknown, options: unknown) => {
            const started = performance.now();
            try {
              const out = await (call(req, options) as Promise<unknown>);
              record(undefined, started);
              return out;
            } catch (err) {
              record(err, started);
              throw err;
            }
          };
  }
  return guarded as unknown as CacheClient;
}

/** The error of a request no upstream would take: every breaker is open. */
export function noUpstreamError(retryAfterMs: number): ConnectError {
  return new ConnectError(
    "every cache-store upstream is unavailable (circuit breakers open)",
    Code.Unavailable,
    new Headers({ "retry-after-ms": String(Math.max(1, Math.round(retryAfterMs))) }),
  );
}
