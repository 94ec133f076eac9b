import {
  commonConfig,
  ConfigError,
  env,
  loadConfig,
  tlsConfig,
  tlsSettingsOf,
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
  COORDINATOR_HOST: env.string("0.0.0.0", "address to bind"),
  ...breakerConfigEnv,
  BW_ADMIN_TOKEN: env.string("", "bearer token that mutating RPCs require; empty: no token needed"),
  COORDINATOR_STATE_FILE: env.string(".data/coordinator-state.json", "snapshot file the state survives restarts in"),
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
  const tls = tlsSettingsOf(config, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...config, breakerConfig: loadBreakerConfig(config.BREAKER_CONFIG), tls });
}
