import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { createLogThrottle, type Logger } from "@breakwater/server-kit";
import type { Clock } from "@breakwater/breaker";
import type { CoordinatorConfig } from "../config.js";
import { createEtcd3FleetStore } from "./etcd3-fleet-store.js";
import { EtcdFleetState } from "./etcd-fleet-state.js";
import { fleetKeys } from "./fleet-keys.js";

/** Deadline of every unary etcd call (design.md: a call to a killed leader otherwise hangs ~7 s). */
const ETCD_CALL_TIMEOUT_MS = 500;
/** How often a replica writes its changed window summaries and instance records. */
const FLUSH_MS = 200;
/** How often etcd is checked (and, while lost, tried again). */
const CHECK_EVERY_MS = 500;

/** Connects a replica to the fleet's state in etcd; it starts unavailable if etcd does not answer yet. */
export async function openEtcdFleet(config: CoordinatorConfig, clock: Clock, logger: Logger): Promise<EtcdFleetState> {
  const replicaId = config.COORDINATOR_REPLICA_ID || `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const log = logger.child({ replica: replicaId });
  const throttle = createLogThrottle({ windowMs: 5_000 });
  const store = createEtcd3FleetStore({
    endpoints: config.COORDINATOR_ETCD_ENDPOINTS,
    callTimeoutMs: ETCD_CALL_TIMEOUT_MS,
    username: config.COORDINATOR_ETCD_USERNAME || undefined,
    password: config.COORDINATOR_ETCD_PASSWORD || undefined,
    caFile: config.COORDINATOR_ETCD_CA_FILE || undefined,
    certFile: config.COORDINATOR_ETCD_CERT_FILE || undefined,
    keyFile: config.COORDINATOR_ETCD_KEY_FILE || undefined,
  });
  const fleet = new EtcdFleetState({
    store,
    keys: fleetKeys(config.COORDINATOR_ETCD_PREFIX),
    replicaId,
    resolveConfig: (name) => config.breakerConfig.resolveConfig(name),
    clock,
    leaseTtlSeconds: Math.ceil(config.COORDINATOR_ETCD_LEASE_TTL / 1000),
    flushMs: FLUSH_MS,
    lostAfterMs: config.COORDINATOR_ETCD_LOST_AFTER,
    checkEveryMs: CHECK_EVERY_MS,
    events: {
      onUnavailable: (why, err) =>
        log.error(
          { err, event: "etcd_unavailable", endpoints: config.COORDINATOR_ETCD_ENDPOINTS },
          `etcd unavailable (${why}): not deciding, NOT_SERVING, sessions ended (instances use local breakers)`,
        ),
      onAvailable: () =>
        log.info({ event: "etcd_available", prefix: config.COORDINATOR_ETCD_PREFIX }, "etcd reached: serving"),
      onBackgroundError: (kind, message, err) => {
        // During an etcd outage every tick fails the same way: a line per kind per window.
        const admitted = throttle.admit(kind);
        if (admitted.write) log.warn({ err, suppressed: admitted.suppressed }, message);
      },
    },
  });
  await fleet.start();
  return fleet;
}
