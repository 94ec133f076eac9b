/**
 * A service's breaker session with the coordinator, started the same way by
 * every service that calls a backend through breakers (the cache-store for
 * its storage, the gateway for its upstreams): the gRPC Session transport
 * over the coordinator's replicas, an instance id, the client's events
 * logged, each breaker's state, whether the process is detached and each
 * failover's duration in /metrics.
 * Nothing is dialed until the client's `start()`.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Gauge, Histogram, type Registry } from "prom-client";
import type { BreakerConfigSet } from "@breakwater/breaker";
import { type BreakerClient, type BreakerEventListener, createBreakerClient } from "@breakwater/breaker/session";
import type { Logger } from "@breakwater/server-kit";
import { registerBreakerStateGauge } from "./breaker-state-gauge.js";
import { type AddressLookup, createCoordinatorReplicas } from "./coordinator-replicas.js";
import { coordinatorTransport } from "./session-transport.js";

/** Options of {@link createBreakerSession}. */
export interface BreakerSessionOptions {
  /** The coordinator's replicas (COORDINATOR_URL as the config parsed it); a DNS name stands for its records. */
  readonly coordinatorUrls: readonly string[];
  /** Resolves DNS names among them (default: the system resolver). */
  readonly lookup?: AddressLookup | undefined;
  /** The service this process is ("cache-store", "gateway"), for operators and the instance id. */
  readonly service: string;
  /** Where this process serves, for operators. */
  readonly address: string;
  /** The breakers this process uses, by name. */
  readonly breakers: readonly string[];
  /** BREAKER_CONFIG, read at start. */
  readonly config: BreakerConfigSet;
  /** Where the client's events are logged. */
  readonly logger: Logger;
  /** Where each breaker's state is exported, as the gauge `gauge.name`. */
  readonly registry: Registry;
  /** The state gauge's name and help. */
  readonly gauge: { readonly name: string; readonly help: string };
  /** Also receives every event, after it is logged (to count them). */
  readonly onEvent?: BreakerEventListener | undefined;
}

/**
 * Creates the process's breaker client over gRPC, its events logged and its
 * breakers' states exported; call `start()` once the service listens.
 */
export function createBreakerSession(options: BreakerSessionOptions): BreakerClient {
  const log = logBreakerEvents(options.logger);
  const replicas = createCoordinatorReplicas({ urls: options.coordinatorUrls, lookup: options.lookup });
  // DNS names are looked up now (nothing is dialed), so that the first session already picks among the
  // records rather than dialing the name, which grpc-js would resolve to its first record for every instance.
  void replicas.refresh();
  const failovers = new Histogram({
    name: "breaker_session_failover_seconds",
    help:
      "Time from losing the coordinator session to the next one's snapshot, on another replica or the same; " +
      "detached: whether local breakers decided alone meanwhile",
    labelNames: ["detached"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [options.registry],
  });
  const client = createBreakerClient({
    instanceId: `${options.service}-${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    service: options.service,
    address: options.address,
    breakers: options.breakers,
    config: options.config,
    onEvent: (event) => {
      log(event);
      if (event.type === "attached" && event.withoutSessionMs !== undefined)
        failovers.observe({ detached: String(event.afterDetach) }, event.withoutSessionMs / 1000);
      options.onEvent?.(event);
    },
    transport: coordinatorTransport(replicas),
  });
  // An alert needs to know which instance decides alone (its failover is only observed once it reattaches).
  new Gauge({
    name: "breaker_session_detached",
    help:
      "1 while this process is detached from the coordinator (no session for detach_after: its local breakers " +
      "decide alone), else 0",
    registers: [options.registry],
    collect() {
      this.set(client.detached ? 1 : 0);
    },
  });
  registerBreakerStateGauge(options.registry, {
    ...options.gauge,
    breakers: () => [...client.breakers.values()].map((b) => ({ name: b.name, state: b.state() })),
  });
  return client;
}

/**
 * Logs a breaker client's events: transitions and detaching as warnings
 * (operators act on them), attaching as info (with the replica, and after a
 * lost session how long the instance was without one), reconnects and probe
 * answers as debug.
 */
export function logBreakerEvents(logger: Logger): BreakerEventListener {
  return (e) => {
    switch (e.type) {
      case "transition":
        logger.warn(
          {
            event: "breaker_transition",
            breaker: e.breaker,
            from: e.from,
            to: e.to,
            source: e.source,
            reason: e.reason,
          },
          "breaker transition",
        );
        return;
      case "detached":
        logger.warn("coordinator unreachable: local breakers decide alone");
        return;
      case "attached":
        if (e.withoutSessionMs === undefined) logger.info({ replica: e.replica }, "breaker session attached");
        else
          logger.info(
            {
              event: "breaker_session_failover",
              replica: e.replica,
              withoutSessionMs: e.withoutSessionMs,
              afterDetach: e.afterDetach,
            },
            "breaker session attached",
          );
        return;
      case "disconnected":
        logger.debug(
          { replica: e.replica, retryInMs: e.retryInMs, err: e.error },
          e.retryInMs === 0 ? "breaker session lost; trying another replica" : "breaker session lost; reconnecting",
        );
        return;
      case "probe":
        logger.debug({ breaker: e.breaker, granted: e.granted }, "probe permit answered");
        return;
    }
  };
}
