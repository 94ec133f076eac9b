import {
  commonConfig,
  ConfigError,
  env,
  loadAccess,
  loadConfig,
  protectedModeProblem,
  securityConfig,
  tlsConfig,
  tlsSettingsOf,
  type Access,
  type ConfigOf,
  type TlsSettings,
} from "@breakwater/server-kit";
import type { BreakerConfigSet } from "@breakwater/breaker";
import { breakerConfigEnv, loadBreakerConfig } from "@breakwater/fleet-kit";

/** The coordinator's environment (design.md "Configuration and ports"). */
export const coordinatorConfigSchema = {
  ...commonConfig,
  ...tlsConfig,
  COORDINATOR_PORT: env.port(50052, "gRPC port (h2c): Session, ops RPCs, reflection, health"),
  COORDINATOR_HTTP_PORT: env.port(9452, "HTTP/1.1 port: Connect JSON, gRPC-Web, /metrics, /healthz"),
  COORDINATOR_HOST: env.string(
    "127.0.0.1",
    "address to bind; another than loopback needs BW_TOKENS_FILE or TLS_CLIENT_AUTH=require, or BW_INSECURE=1",
  ),
  ...breakerConfigEnv,
  ...securityConfig,
  COORDINATOR_STATE_FILE: env.string(".data/coordinator-state.json", "snapshot file the state survives restarts in"),
  COORDINATOR_ETCD_ENDPOINTS: env.urlList(
    [],
    "comma-separated etcd URLs: set, replicas share the fleet's state in etcd (unset: one process, state file)",
  ),
  COORDINATOR_ETCD_PREFIX: env.string("/breakwater/", "key prefix of the fleet's state in etcd"),
  COORDINATOR_ETCD_USERNAME: env.string("", "etcd user (etcd auth); empty: no auth"),
  COORDINATOR_ETCD_PASSWORD: env.string("", "etcd password of COORDINATOR_ETCD_USERNAME"),
  COORDINATOR_ETCD_CA_FILE: env.string("", "CA bundle to verify etcd's certificate (https:// endpoints)"),
  COORDINATOR_ETCD_CERT_FILE: env.string(
    "",
    "client certificate (PEM) presented to etcd, for etcd's --client-cert-auth; with COORDINATOR_ETCD_KEY_FILE",
  ),
  COORDINATOR_ETCD_KEY_FILE: env.string("", "private key (PEM) of COORDINATOR_ETCD_CERT_FILE"),
  COORDINATOR_ETCD_LEASE_TTL: env.durationMs(
    5_000,
    "lease of a replica's instances and window summaries: they vanish this long after it dies (at least 2s)",
  ),
  COORDINATOR_ETCD_LOST_AFTER: env.durationMs(
    3_000,
    "etcd unanswered this long: the replica stops deciding, goes NOT_SERVING and ends its sessions",
  ),
  COORDINATOR_REPLICA_ID: env.string("", "this replica's name in etcd; empty: <hostname>-<pid>-<random>"),
  COORDINATOR_SESSION_QUEUE_LIMIT: env.int(
    10_000,
    "messages a session may fall behind by before it is cut off (it reconnects for a fresh snapshot)",
    1,
  ),
};

export type CoordinatorConfig = ConfigOf<typeof coordinatorConfigSchema> & {
  /** BREAKER_CONFIG, read and validated (design.md defaults when empty). */
  readonly breakerConfig: BreakerConfigSet;
  /** The TLS variables, checked and their files read; undefined: plaintext. */
  readonly tls: TlsSettings | undefined;
  /** Who may call for what: BW_TOKENS_FILE and BW_ADMIN_TOKEN, read and checked. */
  readonly access: Access;
};

/**
 * Reads and validates the coordinator's environment and its BREAKER_CONFIG
 * file; throws ConfigError listing every problem of both.
 */
export function loadCoordinatorConfig(vars: Readonly<Record<string, string | undefined>>): CoordinatorConfig {
  const config = loadConfig(coordinatorConfigSchema, vars);
  const problems: string[] = [];
  if (config.COORDINATOR_PORT !== 0 && config.COORDINATOR_PORT === config.COORDINATOR_HTTP_PORT) {
    problems.push(`COORDINATOR_PORT and COORDINATOR_HTTP_PORT must differ (both ${config.COORDINATOR_PORT})`);
  }
  if (config.COORDINATOR_ETCD_LEASE_TTL < 2_000) {
    const got = config.COORDINATOR_ETCD_LEASE_TTL;
    problems.push(`COORDINATOR_ETCD_LEASE_TTL must be at least 2s (etcd grants no shorter lease), got ${got} ms`);
  }
  if ((config.COORDINATOR_ETCD_CERT_FILE === "") !== (config.COORDINATOR_ETCD_KEY_FILE === "")) {
    problems.push("COORDINATOR_ETCD_CERT_FILE and COORDINATOR_ETCD_KEY_FILE go together: set both or neither");
  }
  const tls = tlsSettingsOf(config, problems);
  const exposed = protectedModeProblem("COORDINATOR_HOST", config.COORDINATOR_HOST, config, vars);
  if (exposed !== undefined) problems.push(exposed);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...config,
    breakerConfig: loadBreakerConfig(config.BREAKER_CONFIG),
    tls,
    access: loadAccess(config),
  });
}
