import {
  createMetricsRegistry,
  createServiceServer,
  startTransportSecurity,
  type Logger,
  type ServiceServer,
} from "@breakwater/server-kit";
import { BreakerSet, systemClock, type Clock } from "@breakwater/breaker";
import type { CoordinatorConfig } from "./config.js";
import { coordinatorService } from "./coordinator-service.js";
import { Coordinator } from "./coordinator.js";
import { StateFile } from "./state-file.js";
import { createPersister } from "./persister.js";
import { createAdminGuard } from "./admin-auth.js";
import { createCoordinatorMetrics } from "./coordinator-metrics.js";

/** What `build` needs besides config. */
export interface CoordinatorDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
}

/** How often time-driven changes are applied (open → half-open, lapsed leases and overrides, liveness). */
const TICK_MS = 50;

/** While saving fails (disk full, directory gone), how often the save is tried again without a new change. */
const SAVE_RETRY_MS = 1_000;

/**
 * Builds the coordinator: restores the saved state, then serves Session and
 * the ops RPCs. Nothing listens until `listen()`.
 */
export async function build(config: CoordinatorConfig, deps: CoordinatorDeps): Promise<ServiceServer> {
  const logger = deps.logger;
  const clock = deps.clock ?? systemClock;
  const breakerConfig = config.breakerConfig;
  const breakers = new BreakerSet({ resolveConfig: (name) => breakerConfig.resolveConfig(name) });
  const stateFile = new StateFile(config.COORDINATOR_STATE_FILE);

  const loaded = await stateFile.load();
  if (loaded.kind === "corrupt") {
    logger.error(
      { setAside: loaded.setAside, reason: loaded.reason },
      "state file is corrupt: set aside, starting empty",
    );
  } else if (loaded.kind === "loaded") {
    try {
      breakers.restore(loaded.state, clock.now());
      logger.info({ breakers: breakers.size, file: stateFile.path }, "state restored");
    } catch (err) {
      logger.error(
        { err, file: stateFile.path },
        "state file does not restore: starting empty (the file is kept until the next save)",
      );
    }
  }

  const registry = createMetricsRegistry("breaker-coordinator");
  const metrics = createCoordinatorMetrics(registry, () => coordinator);
  const persister = createPersister(stateFile, () => breakers.toJSON(clock.now()), {
    onError: (err, inARow) => {
      metrics.onStateWriteFailure();
      // The first failure of a spell at error; the retries that follow at debug, counted by the metric.
      logger[inARow === 1 ? "error" : "debug"](
        { err, file: stateFile.path, inARow },
        "saving the state failed: serving on, the file is behind until a save works",
      );
    },
    onRecovered: (failed) => logger.info({ file: stateFile.path, failed }, "saving the state works again"),
  });
  const persist = (): Promise<void> => persister.persist();
  const coordinator: Coordinator = new Coordinator(
    breakers,
    clock,
    breakerConfig.defaults.heartbeatIntervalMs,
    persist,
    {
      onTransition: (t) => {
        metrics.onTransition(t);
        logger.info(
          {
            event: "breaker_transition",
            breaker: t.name,
            from: t.from,
            to: t.to,
            version: t.version,
            reason: t.reason,
          },
          "breaker transition",
        );
      },
      onMembersChange: (list) =>
        logger.info(
          { event: "members_changed", version: list.version, members: list.members.map((m) => m.address) },
          "cache-store members changed",
        ),
      onReport: metrics.onReport,
      onProbe: metrics.onProbe,
    },
  );
  const onSessionCutOff = (instanceId: string, limit: number): void => {
    metrics.onSessionCutOff();
    logger.warn(
      { instanceId, limit },
      "cut off a session that fell too far behind (it reconnects for a fresh snapshot)",
    );
  };
  const requireAdmin = createAdminGuard(config.BW_ADMIN_TOKEN, (method, why) =>
    logger.warn({ method, why }, "refused a mutating RPC without the admin token"),
  );
  const server = createServiceServer({
    name: "breaker-coordinator",
    services: [
      coordinatorService(coordinator, requireAdmin, {
        sessionQueueLimit: config.COORDINATOR_SESSION_QUEUE_LIMIT,
        onSessionCutOff,
      }),
    ],
    logger,
    registry,
    grpcPort: config.COORDINATOR_PORT,
    httpPort: config.COORDINATOR_HTTP_PORT,
    host: config.COORDINATOR_HOST,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    security: startTransportSecurity(config.tls, logger),
  });
  let lastRetry = clock.now();
  const ticker = setInterval(() => {
    coordinator.tick();
    if (persister.failing && clock.now() - lastRetry >= SAVE_RETRY_MS) {
      lastRetry = clock.now();
      void persist().catch(() => undefined);
    }
  }, TICK_MS);
  ticker.unref();
  // Resources close in reverse order: the ticker stops, then the final state goes to disk.
  server.onClose({ close: () => persist() });
  server.onClose({ close: () => clearInterval(ticker) });
  return server;
}

export { loadCoordinatorConfig, coordinatorConfigSchema, type CoordinatorConfig } from "./config.js";
