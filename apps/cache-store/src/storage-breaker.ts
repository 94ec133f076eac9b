import type { BreakerHook } from "@breakwater/cache";
import type { Admission, BreakerClient, CoordinatedBreaker } from "@breakwater/breaker/session";
import type { cacheV1 } from "@breakwater/proto";

/**
 * The cache's breaker seam over a coordinated breaker: the admission (a
 * probe's permit included) goes back to the breaker with the call's outcome.
 */
export function breakerHookOf(breaker: CoordinatedBreaker): BreakerHook<Admission> {
  return {
    admit: () => breaker.admit(),
    record: (admission, ok, durationMs) => breaker.record(ok, durationMs, admission),
  };
}

/** The breakers of a client as GetStats reports them. */
export function breakerStatuses(client: BreakerClient): cacheV1.BreakerStatus[] {
  return [...client.breakers.values()].map((b) => ({
    $typeName: "breakwater.cache.v1.BreakerStatus",
    name: b.name,
    state: b.state().replace("-", "_"),
    detached: client.detached,
  }));
}
