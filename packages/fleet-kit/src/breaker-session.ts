/**
 * A service's breaker session with the coordinator, started the same way by
 * every service that calls a backend through breakers (the cache-store for
 * its storage, the gateway for its upstreams): the gRPC Session transport,
 * an instance id, the client's events logged, each breaker's state in
 * /metrics. Nothing is dialed until the client's `start()`.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Registry } from "prom-client";
import type { BreakerConfigSet } from "@breakwater/breaker";
import { type BreakerClient, type BreakerEventListener, createBreakerClient } from "@breakwater/breaker/session";
import type { Logger } from "@breakwater/server-kit";
import { registerBreakerStateGauge } from "./breaker-state-gauge.js";
import { coordinatorTransport } from "./session-transport.js";

/** Options of {@link createBreakerSession}. */
export interface BreakerSessionOptions {
  /** The coordinator's gRPC address (COORDINATOR_URL). */
  readonly coordinatorUrl: string;
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
  const client = createBreakerClient({
    instanceId: `${options.service}-${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    service: options.service,
    address: options.address,
    breakers: options.breakers,
    config: options.config,
    onEvent: (event) => {
      log(event);
      options.onEvent?.(event);
    },
    transport: coordinatorTransport(options.coordinatorUrl),
  });
  registerBreakerStateGauge(options.registry, {
    ...options.gauge,
    breakers: () => [...client.breakers.values()].map((b) => ({ name: b.name, state: b.state() })),
  });
  return client;
}

/**
 * Logs a breaker client's events: transitions and detaching as warnings
 * (operators act on them), attaching as info, reconnects and probe answers
 * as debug.
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
        logger.info({ afterDetach: e.afterDetach }, "breaker session attached");
        return;
      case "disconnected":
        logger.debug({ retryInMs: e.retryInMs }, "breaker session lost; reconnecting");
        return;
      case "probe":
        logger.debug({ breaker: e.breaker, granted: e.granted }, "probe permit answered");
        return;
    }
  };
}
