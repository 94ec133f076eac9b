import * as grpc from "@grpc/grpc-js";
import type * as http from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { healthV1 } from "@breakwater/proto";
import { mountOnGrpc } from "./grpc-mount.js";
import { addReflection } from "./reflection.js";
import { HealthStatus, healthService } from "./health.js";
import { createHttpPort, type HttpRoute } from "./http-server.js";
import { createMetricsRegistry, rpcObserver } from "./metrics.js";
import type { ServiceRegistration } from "./service-impl.js";
import type { ToServiceError } from "./errors.js";
import { drainableGrpc, drainableHttp, shutDown } from "./shutdown.js";
import type { TransportSecurity } from "./transport-security.js";

/** Options of a breakwater service process's servers. */
export interface ServiceServerOptions {
  /** Service name for logs and metrics, e.g. "cache-store". */
  readonly name: string;
  /** The services to serve on both ports (health and reflection are added). */
  readonly services: readonly ServiceRegistration[];
  readonly logger: Logger;
  /** gRPC (h2c) port; 0 picks a free one. */
  readonly grpcPort: number;
  /** HTTP/1.1 port (Connect, gRPC-Web, /metrics, /healthz); 0 picks a free one. */
  readonly httpPort: number;
  /** Host to bind; default 0.0.0.0. */
  readonly host?: string;
  /** How long in-flight calls may finish on shutdown before they are cut (default 10 s). */
  readonly shutdownGraceMs?: number;
  /** Pause between NOT_SERVING and closing the ports (default 0). */
  readonly drainDelayMs?: number;
  /** The app's error catalogue, applied to what its handlers throw (see `mountOnGrpc`). */
  readonly toServiceError?: ToServiceError;
  /** Registry for /metrics; one is made when absent. */
  readonly registry?: Registry;
  /** Extra HTTP routes (tried before the RPC routes). */
  readonly httpRoutes?: readonly HttpRoute[];
  /** Closed on shutdown after the ports, in reverse order of the list. */
  readonly resources?: readonly { close(): unknown }[];
  /**
   * Aborted when shutdown begins (after NOT_SERVING and the drain delay), so
   * long-lived streams (watches, subscriptions) end instead of holding the
   * grace period open.
   */
  readonly shutdownController?: AbortController;
  /** TLS on both ports (mTLS under TLS_CLIENT_AUTH=require), following the certificate files; plaintext when absent. */
  readonly security?: TransportSecurity | undefined;
}

/** Where a started service listens. */
export interface ServiceAddresses {
  readonly grpcPort: number;
  readonly httpPort: number;
}

/** A service's two servers, built but not listening. */
export interface ServiceServer {
  readonly health: HealthStatus;
  readonly registry: Registry;
  readonly grpcServer: grpc.Server;
  readonly httpServer: http.Server;
  /** Binds both ports. A port in use rejects with a PortInUseError. */
  listen(): Promise<ServiceAddresses>;
  /** NOT_SERVING, drain delay, stop accepting, drain within the grace period, then force; close resources. */
  shutdown(): Promise<void>;
  /** Adds a resource to close on shutdown (closed before those added earlier). */
  onClose(resource: { close(): unknown }): void;
}

/** Names the port that another process already holds. */
export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
  constructor(
    readonly port: number,
    readonly role: string,
  ) {
    super(`${role} port ${port} is already in use; stop the other process or choose another port`);
  }
}

/**
 * Builds a service's servers: the services on a grpc-js server (the hot path)
 * with reflection and grpc.health.v1, and on an HTTP/1.1 port through
 * connect-node. Nothing listens until `listen()`.
 */
export function createServiceServer(options: ServiceServerOptions): ServiceServer {
  const logger = options.logger;
  const registry = options.registry ?? createMetricsRegistry(options.name);
  const observer = rpcObserver(registry, logger);
  const health = new HealthStatus(options.services.map((s) => s.desc.typeName));
  const served = [...options.services, healthService(health)];
  const resources = [...(options.resources ?? [])];
  let shuttingDown = false;

  const grpcServer = new grpc.Server({
    "grpc.max_receive_message_length": 8 * 1024 * 1024,
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_permit_without_calls": 1,
  });
  const mount = { observer, toServiceError: options.toServiceError };
  for (const s of served) mountOnGrpc(grpcServer, s, mount);
  addReflection(
    grpcServer,
    served
      .map((s) => s.desc)
      .concat(healthV1.Health)
      .filter(unique),
  );

  const httpServer = createHttpPort({
    services: served,
    registry,
    alive: () => !shuttingDown,
    routes: options.httpRoutes ?? [],
    observer,
    toServiceError: options.toServiceError,
    onError: (err) => logger.error({ err }, "http route failed"),
    security: options.security,
  });

  const host = options.host ?? "0.0.0.0";
  return {
    health,
    registry,
    grpcServer,
    httpServer,
    onClose: (r) => void resources.push(r),
    async listen() {
      const grpcCredentials = options.security?.serverCredentials() ?? grpc.ServerCredentials.createInsecure();
      const grpcPort = await new Promise<number>((resolve, reject) =>
        grpcServer.bindAsync(`${host}:${options.grpcPort}`, grpcCredentials, (err, port) =>
          err
            ? reject(/in use|EADDRINUSE/i.test(err.message) ? new PortInUseError(options.grpcPort, "gRPC") : err)
            : resolve(port),
        ),
      );
      const httpPort = await new Promise<number>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void =>
          reject(err.code === "EADDRINUSE" ? new PortInUseError(options.httpPort, "HTTP") : err);
        httpServer.once("error", onError);
        httpServer.listen(options.httpPort, host, () => {
          httpServer.off("error", onError);
          resolve((httpServer.address() as { port: number }).port);
        });
      }).catch((err: unknown) => {
        grpcServer.forceShutdown();
        throw err;
      });
      const tls = options.security?.servesTls ? (options.security.settings.requireClientCert ? "mtls" : "tls") : "off";
      logger.info({ grpcPort, httpPort, tls }, `${options.name} listening`);
      return { grpcPort, httpPort };
    },
    async shutdown() {
      if (shuttingDown) return;
      shuttingDown = true;
      await shutDown({
        logger,
        notReady: () => health.set(healthV1.HealthCheckResponse_ServingStatus.NOT_SERVING),
        drainDelayMs: options.drainDelayMs,
        beforeDrain: () => {
          health.close();
          options.shutdownController?.abort();
        },
        servers: [drainableGrpc(grpcServer), drainableHttp(httpServer)],
        graceMs: options.shutdownGraceMs ?? 10_000,
        resources: options.security ? [options.security, ...resources] : resources,
      });
    },
  };
}

function unique<T>(v: T, i: number, all: T[]): boolean {
  return all.indexOf(v) === i;
}
