import {
  callerOf,
  createMetricsRegistry,
  createServiceServer,
  guardService,
  startTransportSecurity,
  type HttpRoute,
  type Logger,
  type ServiceServer,
} from "@breakwater/server-kit";
import { healthV1 } from "@breakwater/proto";
import { BreakerSet, systemClock, type Clock } from "@breakwater/breaker";
import type { CoordinatorConfig } from "./config.js";
import { coordinatorService } from "./coordinator-service.js";
import { Coordinator } from "./coordinator.js";
import { LocalFleetState } from "./local-fleet-state.js";
import { StateFile } from "./state-file.js";
import { createPersister } from "./persister.js";
import { coordinatorRules } from "./coordinator-access.js";
import { createCoordinatorMetrics } from "./coordinator-metrics.js";
import { openEtcdFleet } from "./etcd/open-etcd-fleet.js";
import { dashboardRoute } from "./dashboard-route.js";

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
  const registry = createMetricsRegistry("breaker-coordinator");
  const metrics = createCoordinatorMetrics(registry, () => coordinator);
  const etcd = config.COORDINATOR_ETCD_ENDPOINTS.length > 0 ? await openEtcdFleet(config, clock, logger) : undefined;
  const local = etcd === undefined ? await openLocalFleet(config, clock, logger, metrics) : undefined;
  const coordinator: Coordinator = new Coordinator(
    (etcd ?? local?.fleet)!,
    clock,
    breakerConfig.defaults.heartbeatIntervalMs,
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
  etcd?.publishInstances(() =>
    coordinator.registry.list().map((record) => ({ record, live: coordinator.registry.isLive(record, clock.now()) })),
  );
  const onSessionCutOff = (instanceId: string, limit: number): void => {
    metrics.onSessionCutOff();
    logger.warn(
      { instanceId, limit },
      "cut off a session that fell too far behind (it reconnects for a fresh snapshot)",
    );
  };
  const service = coordinatorService(coordinator, {
    sessionQueueLimit: config.COORDINATOR_SESSION_QUEUE_LIMIT,
    onSessionCutOff,
    callerName: (ctx) => callerOf(ctx)?.name,
    // Every admin action is logged with who did it (the token's name, never the token).
    onAdminAction: (action, name, who, detail) =>
      logger.info({ action, breaker: name, who, ...detail }, "admin action"),
  });
  let closing = false;
  const server = createServiceServer({
    name: "breaker-coordinator",
    services: [
      // Who may do what, on both ports: Session needs `write`, the ops `read`, force and reset `admin`.
      config.access.enabled
        ? guardService(service, {
            access: config.access,
            rules: coordinatorRules,
            onRefused: (method, refusal, reason) => logger.warn({ method, refusal, reason }, "refused a call"),
          })
        : service,
    ],
    logger,
    registry,
    grpcPort: config.COORDINATOR_PORT,
    httpPort: config.COORDINATOR_HTTP_PORT,
    host: config.COORDINATOR_HOST,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    httpRoutes: [readyzRoute(() => server.health.serving), dashboardRoute()],
    security: startTransportSecurity(config.tls, logger),
  });
  // Health follows the fleet state: a replica without etcd is NOT_SERVING until etcd is back.
  const serving = (why: string | undefined): void => {
    if (closing) return;
    const { SERVING, NOT_SERVING } = healthV1.HealthCheckResponse_ServingStatus;
    server.health.set(why === undefined ? SERVING : NOT_SERVING);
  };
  coordinator.fleet.onAvailability(serving);
  serving(coordinator.fleet.unavailable);
  const ticker = setInterval(() => {
    coordinator.tick();
    local?.tick();
  }, TICK_MS);
  ticker.unref();
  // Resources close in reverse order: the ticker stops, then the final state goes to disk (or the lease is revoked).
  server.onClose({ close: () => (local ? local.close() : etcd?.close()) });
  server.onClose({
    close: () => {
      closing = true;
      clearInterval(ticker);
    },
  });
  return server;
}

/** GET /readyz: 200 while the coordinator serves, 503 while it cannot (etcd lost, shutting down). */
function readyzRoute(serving: () => boolean): HttpRoute {
  return (req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/readyz") return false;
    const ok = serving();
    res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
    res.end(ok ? "ready\n" : "not ready\n");
    return true;
  };
}

/** The single-process fleet state: restored from the state file, saved after every transition. */
async function openLocalFleet(
  config: CoordinatorConfig,
  clock: Clock,
  logger: Logger,
  metrics: ReturnType<typeof createCoordinatorMetrics>,
) {
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
  let lastRetry = clock.now();
  return {
    fleet: new LocalFleetState(breakers, persist),
    /** While saving fails (disk full, directory gone), the save is tried again without a new change. */
    tick: (): void => {
      if (persister.failing && clock.now() - lastRetry >= SAVE_RETRY_MS) {
        lastRetry = clock.now();
        void persist().catch(() => undefined);
      }
    },
    close: persist,
  };
}

export { loadCoordinatorConfig, coordinatorConfigSchema, type CoordinatorConfig } from "./config.js";
