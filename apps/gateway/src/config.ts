import { commonConfig, env, loadConfig, type ConfigOf } from "@breakwater/server-kit";

/** The gateway's environment (design.md "Configuration and ports"). */
export const gatewayConfigSchema = {
  ...commonConfig,
  GATEWAY_PORT: env.port(8080, "HTTP/1.1 port: the object API, /metrics, /healthz, /readyz"),
  GATEWAY_HOST: env.string("0.0.0.0", "address to bind"),
  CACHE_STORE_URLS: env.urlList(["http://127.0.0.1:50051"], "comma-separated cache-store gRPC addresses"),
  MAX_PUT_BYTES: env.bytes(5 * 1024 ** 3, "largest accepted PUT body (413 above)"),
  UPSTREAM_TIMEOUT: env.durationMs(30_000, "deadline of a metadata call to a cache-store (bodies stream without one)"),
  BW_ADMIN_TOKEN: env.string("", "bearer token that PURGE requires; empty: no token needed"),
  GATEWAY_MAX_CONCURRENT_REQUESTS: env.int(1024, "requests served at once; more are answered 503", 1),
  GATEWAY_REQUEST_TIMEOUT: env.durationMs(300_000, "longest a request may take to arrive (slow clients are cut)"),
  GATEWAY_HEADERS_TIMEOUT: env.durationMs(20_000, "longest the request headers may take to arrive"),
  GATEWAY_KEEP_ALIVE_TIMEOUT: env.durationMs(5_000, "idle keep-alive connections are closed after this"),
  GATEWAY_MAX_HEADER_BYTES: env.bytes(16 * 1024, "largest request header block (431 above)"),
};

export type GatewayConfig = ConfigOf<typeof gatewayConfigSchema>;

/** Reads and validates the gateway's environment; throws ConfigError listing every problem. */
export function loadGatewayConfig(vars: Readonly<Record<string, string | undefined>>): GatewayConfig {
  return loadConfig(gatewayConfigSchema, vars);
}
