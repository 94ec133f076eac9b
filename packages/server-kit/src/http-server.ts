import * as http from "node:http";
import * as https from "node:https";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Registry } from "prom-client";
import { connectContextValues, mountOnConnect } from "./connect-mount.js";
import type { ServiceRegistration } from "./service-impl.js";
import type { CallObserver } from "./call-observer.js";
import type { ToServiceError } from "./errors.js";
import type { TransportSecurity } from "./transport-security.js";

/** An extra route on the HTTP/1.1 port (the gateway's API, /readyz, ...). Return false to fall through. */
export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;

/** Options of the HTTP/1.1 port. */
export interface HttpPortOptions {
  /** Services answered over Connect (JSON or binary) and gRPC-Web. */
  readonly services: readonly ServiceRegistration[];
  /** Prometheus registry served at /metrics. */
  readonly registry: Registry;
  /** Answers /healthz: true while the process is alive and not shutting down. */
  readonly alive: () => boolean;
  /** Tried in order before the RPC routes. */
  readonly routes?: readonly HttpRoute[];
  readonly observer?: CallObserver | undefined;
  /** The app's error catalogue for the services' handlers (see `mountOnGrpc`). */
  readonly toServiceError?: ToServiceError | undefined;
  /** Told of an error a route threw (the client got a 500). */
  readonly onError?: (err: unknown) => void;
  /** Serve HTTPS (client certificates required under mTLS), following the certificate files. */
  readonly security?: TransportSecurity | undefined;
}

/**
 * The HTTP/1.1 port of a service: Connect (so curl works) and gRPC-Web for
 * every service, next to /metrics and /healthz. Node's plaintext HTTP/2 server
 * cannot take HTTP/1.1 on the same port, hence a port of its own (design.md).
 */
export function createHttpPort(options: HttpPortOptions): http.Server {
  const rpc = connectNodeAdapter({
    routes: (router) => options.services.forEach((s) => mountOnConnect(router, s, options)),
    grpc: false, // gRPC needs HTTP/2: it is served by grpc-js on the gRPC port
    grpcWeb: true,
    connect: true,
    contextValues: connectContextValues, // the socket: a verified client certificate names the caller
  });
  const server = createHttpOrHttpsServer(options.security, {}, async (req, res) => {
    try {
      const path = (req.url ?? "/").split("?", 1)[0];
      if (req.method === "GET" && path === "/metrics") {
        // Collected before the head is written: a collector that throws makes a 500, not a 200 with an error body.
        const text = await options.registry.metrics();
        res.writeHead(200, { "content-type": options.registry.contentType });
        res.end(text);
        return;
      }
      if (req.method === "GET" && path === "/healthz") {
        const alive = options.alive();
        res.writeHead(alive ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ status: alive ? "ok" : "shutting down" }));
        return;
      }
      for (const route of options.routes ?? []) if (await route(req, res)) return;
      rpc(req, res);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "internal error", code: "internal" }));
      options.onError?.(err);
    }
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 300_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

/**
 * node:https when `security` serves TLS (its certificates then follow the
 * files), else node:http. An https.Server is an http.Server underneath (same
 * requests, timeouts and close methods), typed as one so that both kinds drain alike.
 */
export function createHttpOrHttpsServer(
  security: TransportSecurity | undefined,
  options: http.ServerOptions,
  listener: http.RequestListener,
): http.Server {
  if (security === undefined || !security.servesTls) return http.createServer(options, listener);
  const server = https.createServer({ ...options, ...security.httpsOptions() }, listener);
  security.follow(server);
  return server as unknown as http.Server;
}
