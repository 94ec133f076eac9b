import * as path from "node:path";
import type { DevConfig, DevPorts } from "./dev-config.js";
import { portVariables } from "./dev-config.js";
import { planCoordinators } from "./coordinator-plan.js";
import type { DevSecrets } from "./dev-secrets.js";

/** The embedded S3's fixed credentials (s3rver accepts only these). */
export const s3rverCredentials = { accessKey: "S3RVER", secretKey: "S3RVER", region: "us-east-1" } as const;

/** One address a service answers on, for the banner. */
export interface Endpoint {
  readonly service: string;
  readonly protocol: string;
  readonly address: string;
}

/** A port the stack will bind, with who binds it and how to move it. */
export interface PlannedPort {
  readonly port: number;
  /** Address the owner binds: the apps bind every interface, s3rver only loopback. */
  readonly host: string;
  readonly service: string;
  /** "gRPC", "HTTP", … */
  readonly role: string;
  /** The environment variable that moves it. */
  readonly variable: string;
}

/** How to run one of the apps (or etcd) as a child process. */
export interface ServicePlan {
  /** The app's directory name under apps/ (with a replica number when there are several), also its name in logs. */
  readonly name: string;
  /** Absolute path of the app's built entry point, run with this Node. */
  readonly main?: string;
  /** A program other than an app (etcd), found on PATH. */
  readonly exec?: { readonly command: string; readonly args: readonly string[] };
  /** Variables set for this child on top of the inherited environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Polled until it answers 200. */
  readonly healthUrl: string;
  /** Under BW_DEV_TLS: the CA and client certificate the health check presents (PEM paths). */
  readonly healthTls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

/** The whole dev stack: what binds which port, and the apps in start order. */
export interface StackPlan {
  readonly ports: readonly PlannedPort[];
  readonly s3Endpoint: string;
  /** (etcd,) coordinator(s), cache-store, gateway: each needs the ones before it. */
  readonly services: readonly ServicePlan[];
  readonly endpoints: readonly Endpoint[];
}

const loopback = "127.0.0.1";

/**
 * Plans the dev stack from its config. Pure: the same config gives the same
 * plan, so tests check the wiring (who gets which port and URL) without
 * starting anything. `env` is the orchestrator's own environment, read only
 * for COORDINATOR_STATE_FILE, which is passed on when set.
 */
export function planStack(
  config: DevConfig,
  repoRoot: string,
  env: Readonly<Record<string, string | undefined>> = {},
  /** BW_DEV_TLS's certificates and tokens (ensureDevSecrets): every port under mTLS, every call with a token. */
  secrets?: DevSecrets,
): StackPlan {
  const p = config.ports;
  const port = (key: keyof DevPorts, service: string, role: string, host = "0.0.0.0"): PlannedPort => ({
    port: p[key],
    host,
    service,
    role,
    variable: portVariables[key].name,
  });
  const appMain = (name: string): string => path.join(repoRoot, "apps", name, "dist", "main.js");
  const s3Endpoint = `http://${loopback}:${p.s3}`;
  const scheme = secrets ? "https" : "http";
  const security: Record<string, string> = secrets
    ? {
        TLS_CERT_FILE: secrets.service.cert,
        TLS_KEY_FILE: secrets.service.key,
        TLS_CA_FILE: secrets.ca,
        TLS_CLIENT_AUTH: "require",
        BW_TOKENS_FILE: secrets.tokensFile,
        BW_TOKEN: secrets.serviceToken,
      }
    : {};
  const healthTls = secrets ? { healthTls: { ca: secrets.ca, ...secrets.operator } } : {};
  const coordinators = planCoordinators(
    config,
    appMain("breaker-coordinator"),
    { LOG_LEVEL: config.logLevel, ...security },
    env["COORDINATOR_STATE_FILE"] || path.join(config.dataDir, "coordinator-state.json"),
    secrets ? { ca: secrets.ca, ...secrets.operator } : undefined,
  );
  const common = { LOG_LEVEL: config.logLevel, ...security, COORDINATOR_URL: coordinators.coordinatorUrl };

  return {
    ports: [
      port("s3", "embedded S3", "HTTP", loopback),
      ...coordinators.ports,
      port("cacheStoreGrpc", "cache-store", "gRPC"),
      port("cacheStoreHttp", "cache-store", "HTTP"),
      port("gateway", "gateway", "HTTP"),
    ],
    s3Endpoint,
    services: [
      ...coordinators.services,
      {
        name: "cache-store",
        main: appMain("cache-store"),
        env: {
          ...common,
          CACHE_STORE_PORT: String(p.cacheStoreGrpc),
          CACHE_STORE_HTTP_PORT: String(p.cacheStoreHttp),
          S3_ENDPOINT: s3Endpoint,
          S3_ACCESS_KEY: s3rverCredentials.accessKey,
          S3_SECRET_KEY: s3rverCredentials.secretKey,
          S3_REGION: s3rverCredentials.region,
        },
        healthUrl: `${scheme}://${loopback}:${p.cacheStoreHttp}/healthz`,
        ...healthTls,
      },
      {
        name: "gateway",
        main: appMain("gateway"),
        env: {
          ...common,
          GATEWAY_PORT: String(p.gateway),
          CACHE_STORE_URLS: `${scheme}://${loopback}:${p.cacheStoreGrpc}`,
        },
        healthUrl: `${scheme}://${loopback}:${p.gateway}/healthz`,
        ...healthTls,
      },
    ],
    endpoints: [
      {
        service: "gateway",
        protocol: `HTTP/1.1 object API, /metrics${secrets ? " (mTLS, tokens)" : ""}`,
        address: `${scheme}://${loopback}:${p.gateway}`,
      },
      {
        service: "cache-store",
        protocol: secrets ? "gRPC (mTLS)" : "gRPC (h2c)",
        address: `${loopback}:${p.cacheStoreGrpc}`,
      },
      {
        service: "cache-store",
        protocol: "Connect JSON, gRPC-Web, /metrics",
        address: `${scheme}://${loopback}:${p.cacheStoreHttp}`,
      },
      ...coordinators.endpoints,
      {
        service: "embedded S3",
        protocol: `S3 HTTP (keys S3RVER/S3RVER, bucket ${config.bucket})`,
        address: s3Endpoint,
      },
    ],
  };
}
