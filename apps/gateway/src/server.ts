import * as http from "node:http";
import { createMetricsRegistry, PortInUseError, type Logger } from "@breakwater/server-kit";
import type { GatewayConfig } from "./config.js";
import { createUpstreamPool, type UpstreamPool } from "./upstreams.js";
import { createObjectRoutes } from "./object-routes.js";
import { createGatewayMetrics } from "./gateway-metrics.js";
import { sendError } from "./http-errors.js";

/** What `build` needs besides config. */
export interface GatewayDeps {
  readonly logger: Logger;
  /** Upstreams to use instead of dialing CACHE_STORE_URLS (tests). */
  readonly upstreams?: UpstreamPool;
}

/** The gateway, built but not listening. */
export interface Gateway {
  readonly server: http.Server;
  listen(): Promise<{ port: number }>;
  shutdown(): Promise<void>;
}

/**
 * Builds the gateway: the HTTP/1.1 object API for legacy clients in front of
 * CacheService, with /healthz, /readyz and /metrics. Nothing listens until
 * `listen()`.
 */
export function build(config: GatewayConfig, deps: GatewayDeps): Gateway {
  const logger = deps.logger;
  const upstreams = deps.upstreams ?? createUpstreamPool(config.CACHE_STORE_URLS);
  const registry = createMetricsRegistry("gateway");
  const metrics = createGatewayMetrics(registry);
  const objects = createObjectRoutes({
    upstreams,
    maxPutBytes: config.MAX_PUT_BYTES,
    upstreamTimeoutMs: config.UPSTREAM_TIMEOUT,
    adminToken: config.BW_ADMIN_TOKEN,
    logger,
  });
  let inFlight = 0;
  let shuttingDown = false;

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<string> {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (await objects(req, res, url.pathname, url.searchParams)) return "objects";
    if (url.pathname === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      json(res, shuttingDown ? 503 : 200, { status: shuttingDown ? "shutting down" : "ok" });
      return "healthz";
    }
    if (url.pathname === "/readyz" && (req.method === "GET" || req.method === "HEAD")) {
      const ready = !shuttingDown && (await upstreams.ready());
      json(res, ready ? 200 : 503, { ready, upstreams: upstreams.all.map((u) => u.url) });
      return "readyz";
    }
    if (url.pathname === "/metrics" && req.method === "GET") {
      res.writeHead(200, { "content-type": registry.contentType }).end(await registry.metrics());
      return "metrics";
    }
    sendError(res, 404, `no route for ${url.pathname}`, "not_found");
    return "unknown";
  }

  const server = http.createServer(
    {
      maxHeaderSize: config.GATEWAY_MAX_HEADER_BYTES,
      requestTimeout: config.GATEWAY_REQUEST_TIMEOUT,
      headersTimeout: config.GATEWAY_HEADERS_TIMEOUT,
      keepAliveTimeout: config.GATEWAY_KEEP_ALIVE_TIMEOUT,
    },
    (req, res) => {
      const started = performance.now();
      if (inFlight >= config.GATEWAY_MAX_CONCURRENT_REQUESTS) {
        metrics.rejected.inc();
        res.setHeader("connection", "close");
        sendError(res, 503, "too many requests in flight", "unavailable", {}, 1);
        return;
      }
      inFlight++;
      let routeName = "unknown";
      res.once("close", () => {
        inFlight--;
        metrics.observe(routeName, req.method ?? "", res.statusCode, started);
      });
      route(req, res).then(
        (name) => (routeName = name),
        (err: unknown) => {
          logger.error({ err, url: req.url, method: req.method }, "request failed");
          sendError(res, 500, "internal error", "internal");
        },
      );
    },
  );
  // Expect: 100-continue: refuse an oversized PUT before the client sends it.
  server.on("checkContinue", (req, res) => {
    const length = Number(req.headers["content-length"] ?? 0);
    if (length > config.MAX_PUT_BYTES) {
      res.setHeader("connection", "close");
      sendError(res, 413, `the body is larger than the limit of ${config.MAX_PUT_BYTES} bytes`, "too_large");
      return;
    }
    res.writeContinue();
    server.emit("request", req, res);
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests, oversized headers, timeouts: answer if the socket still can, never crash.
    if (socket.writable && !socket.destroyed) {
      const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
      const body = JSON.stringify({ error: status === 431 ? "request headers too large" : status === 408 ? "request timeout" : "bad request", code: "bad_request" });
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    } else socket.destroy();
  });

  return {
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void =>
          reject(err.code === "EADDRINUSE" ? new PortInUseError(config.GATEWAY_PORT, "HTTP") : err);
        server.once("error", onError);
        server.listen(config.GATEWAY_PORT, config.GATEWAY_HOST, () => {
          server.off("error", onError);
          const port = (server.address() as { port: number }).port;
          logger.info({ port, upstreams: config.CACHE_STORE_URLS }, "gateway listening");
          resolve({ port });
        });
      }),
    async shutdown() {
      if (shuttingDown) return;
      shuttingDown = true;
      logger.info("shutting down: draining in-flight requests");
      if (config.SHUTDOWN_DRAIN_DELAY_MS > 0) await new Promise((r) => setTimeout(r, config.SHUTDOWN_DRAIN_DELAY_MS));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(timer);
      upstreams.close();
      logger.info("shut down");
    },
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(res.req.method === "HEAD" ? undefined : text);
}

export { loadGatewayConfig, gatewayConfigSchema, type GatewayConfig } from "./config.js";
