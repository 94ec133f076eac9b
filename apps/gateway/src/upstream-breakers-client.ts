import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { Gauge, type Registry } from "prom-client";
import type { BreakerConfigSet } from "@breakwater/breaker";
import { createBreakerClient, type BreakerClient } from "@breakwater/breaker/session";
import type { Logger } from "@breakwater/server-kit";

const stateValue = { closed: 0, "half-open": 1, open: 2 } as const;

/**
 * The gateway's session with the coordinator for its upstreams' breakers,
 * with transitions logged and each breaker's state in /metrics.
 */
export function startUpstreamBreakers(options: {
  readonly coordinatorUrl: string;
  readonly names: readonly string[];
  readonly address: string;
  readonly config: BreakerConfigSet;
  readonly logger: Logger;
  readonly registry: Registry;
}): BreakerClient {
  const { logger } = options;
  const client = createBreakerClient({
    coordinatorUrl: options.coordinatorUrl,
    instanceId: `gateway-${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    service: "gateway",
    address: options.address,
    breakers: options.names,
    config: options.config,
    onEvent: (e) => {
      if (e.type === "transition") {
        logger.warn({ event: "breaker_transition", breaker: e.breaker, from: e.from, to: e.to, source: e.source, reason: e.reason }, "upstream breaker transition");
      } else if (e.type === "detached") logger.warn("coordinator unreachable: local breakers decide alone");
      else if (e.type === "attached") logger.info({ afterDetach: e.afterDetach }, "breaker session attached");
    },
  });
  new Gauge({
    name: "gateway_upstream_breaker_state",
    help: "Upstream breaker state as this gateway applies it: 0 closed, 1 half-open, 2 open",
    labelNames: ["breaker"] as const,
    registers: [options.registry],
    collect() {
      for (const [name, b] of client.breakers) this.set({ breaker: name }, stateValue[b.state()]);
    },
  });
  return client;
}
