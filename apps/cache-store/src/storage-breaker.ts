import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { BreakerHook } from "@breakwater/cache";
import type { BreakerConfigSet } from "@breakwater/breaker";
import { createBreakerClient, type Admission, type BreakerClient, type CoordinatedBreaker } from "@breakwater/breaker/session";
import type { Logger } from "@breakwater/server-kit";
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

/** Starts this replica's session with the coordinator for its storage backend's breaker. */
export function startStorageBreaker(options: {
  readonly coordinatorUrl: string;
  readonly backend: string;
  readonly address: string;
  readonly config: BreakerConfigSet;
  readonly logger: Logger;
}): { client: BreakerClient; breaker: CoordinatedBreaker } {
  const { logger } = options;
  const client = createBreakerClient({
    coordinatorUrl: options.coordinatorUrl,
    instanceId: `cache-store-${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    service: "cache-store",
    address: options.address,
    breakers: [options.backend],
    config: options.config,
    onEvent: (e) => {
      switch (e.type) {
        case "transition":
          logger.warn({ event: "breaker_transition", breaker: e.breaker, from: e.from, to: e.to, source: e.source, reason: e.reason }, "breaker transition");
          return;
        case "detached":
          logger.warn("coordinator unreachable: local breakers decide alone");
          return;
        case "attached":
          logger.info({ afterDetach: e.afterDetach }, "breaker session attached");
          return;
        case "disconnected":
          logger.debug({ retryInMs: e.retryInMs }, "breaker session lost; reconnecting");
          return;
        case "probe":
          logger.debug({ breaker: e.breaker, granted: e.granted }, "probe permit answered");
          return;
      }
    },
  });
  return { client, breaker: client.breaker(options.backend) };
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
