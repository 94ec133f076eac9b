import { commonConfig, env, loadConfig, type ConfigOf } from "@breakwater/server-kit";

/** The coordinator's environment (design.md "Configuration and ports"). */
export const coordinatorConfigSchema = {
  ...commonConfig,
  COORDINATOR_PORT: env.port(50052, "gRPC port (h2c): Session, ops RPCs, reflection, health"),
  COORDINATOR_HTTP_PORT: env.port(9452, "HTTP/1.1 port: Connect JSON, gRPC-Web, /metrics, /healthz"),
  COORDINATOR_HOST: env.string("0.0.0.0", "address to bind"),
  BREAKER_CONFIG: env.string("", "YAML file of per-backend breaker settings; empty: defaults"),
  BW_ADMIN_TOKEN: env.string("", "bearer token that mutating RPCs require; empty: no token needed"),
  COORDINATOR_STATE_FILE: env.string(".data/coordinator-state.json", "snapshot file the state survives restarts in"),
};

export type CoordinatorConfig = ConfigOf<typeof coordinatorConfigSchema>;

/** Reads and validates the coordinator's environment; throws ConfigError listing every problem. */
export function loadCoordinatorConfig(vars: Readonly<Record<string, string | undefined>>): CoordinatorConfig {
  return loadConfig(coordinatorConfigSchema, vars);
}
