import { createServiceServer, type Logger, type ServiceServer } from "@breakwater/server-kit";
import type { CoordinatorConfig } from "./config.js";
import { coordinatorService } from "./coordinator-service.js";

/** What `build` needs besides config. */
export interface CoordinatorDeps {
  readonly logger: Logger;
}

/** Builds the coordinator's servers; nothing listens until `listen()`. */
export function build(config: CoordinatorConfig, deps: CoordinatorDeps): ServiceServer {
  return createServiceServer({
    name: "breaker-coordinator",
    services: [coordinatorService()],
    logger: deps.logger,
    grpcPort: config.COORDINATOR_PORT,
    httpPort: config.COORDINATOR_HTTP_PORT,
    host: config.COORDINATOR_HOST,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
  });
}

export { loadCoordinatorConfig, coordinatorConfigSchema, type CoordinatorConfig } from "./config.js";
