import * as http from "node:http";
import { createMetricsRegistry, PortInUseError, type Logger } from "@breakwater/server-kit";
import type { GatewayConfig } from "./config.js";
import { createBreakerSession, createInvalidationFollower, type InvalidationFollower } from "@breakwater/fleet-kit";
import { createUpstreamPool, upstreamBreakerName, type UpstreamPool } from "./upstreams.js";
import { createObjectRoutes } from "./object-routes.js";
import { createGatewayMetrics } from "./gateway-metrics.js";
import { sendError } from "./http-errors.js";
import { parseRequestTarget, type RequestTarget } from "./request-target.js";
import { createNearCache, type NearCache } from "./near-cache.js";

/** What `build` needs besides config. */
export interface GatewayDeps {
  readonly logger: Logger;
  /** Upstreams to use instead of dialing CACHE_STORE_URLS (tests). */
  readonly upstreams?: UpstreamPool;
  /** Milliseconds for the near-cache's TTL; `performance.now` unless given (tests). */
  readonly clock?: () => number;
}

/** The gateway, built but not listening. */
export interface Gateway {
  readonly server: http.Server;
  /** The near-cache, when GATEWAY_CACHE_MAX_BYTES is above 0. */
  readonly nearCache: NearCache | undefined;
  /** Starts the breaker session and the invalidation streams, then listens. */
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
  const registry = createMetricsRegistry("gateway");
  // Each cache-store upstream sits behind its own coordinated breaker (design.md "Gateway").
  const breakers =
    deps.upstreams === undefined
      ? createBreakerSession({
          coordinatorUrl: config.COORDINATOR_URL,
          service: "gateway",
          address: `${config.GATEWAY_HOST}:${config.GATEWAY_PORT}`,
          breakers: config.CACHE_STORE_URLS.map(upstreamBreakerName),
          config: config.breakerConfig,
          logger,
          registry,
          gauge: { name: "gateway_upstream_breaker_state", help: "Upstream breaker state as this gateway applies it" },
        })
      : undefined;
  const upstreams = deps.upstreams ?? createUpstreamPool(config.CACHE_STORE_URLS, breakers);
  const { nearCache, subscriber } = buildNearCache(config, deps, upstreams);
  const metrics = createGatewayMetrics(
    registry,
    nearCache && subscriber ? { stats: () => nearCache.stats(), streams: () => subscriber.streams() } : undefined,
  );
  const objects = createObjectRoutes({
    upstreams,
    maxPutBytes: config.MAX_PUT_BYTES,
    upstreamTimeoutMs: config.UPSTREAM_TIMEOUT,
    adminToken: config.BW_ADMIN_TOKEN,
    nearCache,
    logger,
  });
  let inFlight = 0;
  let shuttingDown = false;

  function requestFailed(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
    logger.error({ err, url: req.url, method: req.method }, "request failed");
    sendError(res, 500, "internal error", "internal");
  }

  /** Every route but /objects/, which the request handler calls itself (its hits answer without a promise). */
  async function route(req: http.IncomingMessage, res: http.ServerResponse, url: RequestTarget | undefined, name: Exclude<RouteName, "objects">): Promise<void> {
    const get = req.method === "GET" || req.method === "HEAD";
    switch (name) {
      case "healthz":
        if (!get) break;
        json(res, shuttingDown ? 503 : 200, { status: shuttingDown ? "shutting down" : "ok" });
        return;
      case "readyz": {
        if (!get) break;
        const ready = !shuttingDown && (await upstreams.ready());
        json(res, ready ? 200 : 503, {
          ready,
          upstreams: upstreams.all.map((u) => u.url),
          near_cache: nearCache === undefined ? "off" : nearCache.enabled ? "on" : "waiting for invalidation streams",
        });
        return;
      }
      case "metrics":
        if (req.method !== "GET") break;
        res.writeHead(200, { "content-type": registry.contentType }).end(await registry.metrics());
        return;
      case "unknown":
        if (url === undefined) sendError(res, 400, "the request-target has no path", "bad_request");
        else sendError(res, 404, "no such route", "not_found");
        return;
    }
    sendError(res, 405, `method ${req.method} is not allowed here`, "method_not_allowed", { allow: name === "metrics" ? "GET" : "GET, HEAD" });
  }

  const server = http.createServer(
    {
      maxHeaderSize: config.GATEWAY_MAX_HEADER_BYTES,
      requestTimeout: config.GATEWAY_REQUEST_TIMEOUT,
      headersTimeout: config.GATEWAY_HEADERS_TIMEOUT,
      keepAliveTimeout: config.GATEWAY_KEEP_ALIVE_TIMEOUT,
      // node:http checks the two timeouts above only this often (default 30 s):
      // without it a 1 s headers timeout lets a slowloris hold a socket for 30 s.
      connectionsCheckingInterval: checkingIntervalMs(config),
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
      // The raw target, not `new URL()`: that would resolve "..", "%2e%2e" and "\\" before the path is judged.
      const url = parseRequestTarget(req.url);
      // Named before routing: "close" can come before the handler's promise settles.
      const routeName = routeOf(url?.pathname);
      // "on", not "once" (a response closes once): no wrapper per request.
      res.on("close", () => {
        inFlight--;
        metrics.observe(routeName, req.method ?? "", res.statusCode, started);
      });
      try {
        // Objects without an async wrapper: a near-cache hit is answered before this returns.
        const answering = routeName === "objects" ? objects(req, res, url!.pathname, url!.query) : route(req, res, url, routeName);
        if (answering instanceof Promise) answering.catch((err: unknown) => requestFailed(req, res, err));
      } catch (err) {
        requestFailed(req, res, err);
      }
    },
  );
  // A client may shut down its sending side once its request is out (RFC 9112
  // 9.6 lets it keep reading): by default node:http then aborts the request in
  // flight and the answer is lost. This long-standing (undocumented) switch of
  // node:http's server lets the answer go out, then closes the connection.
  (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
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
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    metrics.clientError(err.code === "ECONNRESET" ? "reset" : String(status));
    // A response already under way (e.g. a request timeout mid-body) cannot take another status line.
    const answering = (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage?.headersSent === true;
    if (socket.writable && !socket.destroyed && err.code !== "ECONNRESET" && !answering) {
      const body = JSON.stringify({ error: status === 431 ? "request headers too large" : status === 408 ? "request timeout" : "bad request", code: "bad_request" });
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    } else socket.destroy();
  });

  return {
    server,
    nearCache,
    listen: () =>
      new Promise((resolve, reject) => {
        breakers?.start();
        subscriber?.start();
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
      await subscriber?.stop();
      upstreams.close();
      breakers?.close();
      logger.info("shut down");
    },
  };
}

type RouteName = "objects" | "healthz" | "readyz" | "metrics" | "unknown";

/** The route label of a path: a handful of fixed values, never the path itself (label cardinality). */
function routeOf(pathname: string | undefined): RouteName {
  if (pathname === undefined) return "unknown";
  if (pathname.startsWith("/objects/")) return "objects";
  if (pathname === "/healthz" || pathname === "/readyz" || pathname === "/metrics") return pathname.slice(1) as RouteName;
  return "unknown";
}

/** Often enough to enforce the headers and request timeouts within about a quarter of them. */
function checkingIntervalMs(config: GatewayConfig): number {
  const shortest = Math.min(config.GATEWAY_HEADERS_TIMEOUT || Infinity, config.GATEWAY_REQUEST_TIMEOUT || Infinity);
  return Number.isFinite(shortest) ? Math.min(30_000, Math.max(100, Math.floor(shortest / 4))) : 30_000;
}

/** The near-cache and the invalidation streams that keep it coherent, unless configured off. */
function buildNearCache(
  config: GatewayConfig,
  deps: GatewayDeps,
  upstreams: UpstreamPool,
): { nearCache?: NearCache; subscriber?: InvalidationFollower } {
  if (config.GATEWAY_CACHE_MAX_BYTES === 0) return {};
  const logger = deps.logger;
  const nearCache = createNearCache({
    maxBytes: config.GATEWAY_CACHE_MAX_BYTES,
    maxObjectBytes: config.GATEWAY_CACHE_MAX_OBJECT_BYTES,
    ttlMs: config.GATEWAY_CACHE_TTL,
    clock: deps.clock ?? (() => performance.now()),
  });
  const subscriber = createInvalidationFollower({
    sources: upstreams.all.map((u) => ({
      url: u.url,
      watch: (signal) => u.cache.watchInvalidations({ bucket: "" }, { signal }),
    })),
    onInvalidation: (_url, { bucket, key, prefix }) => nearCache.invalidate(bucket, key, prefix),
    onAllLiveChange: (live) => {
      if (live) nearCache.enable();
      else nearCache.disable(); // invalidations may be missed from now on: nothing old may be served
      logger.info({ live }, live ? "near-cache on: every invalidation stream is live" : "near-cache off and emptied: an invalidation stream broke");
    },
    backoff: { initialMs: config.GATEWAY_INVALIDATION_BACKOFF, maxMs: config.GATEWAY_INVALIDATION_MAX_BACKOFF },
    onLive: (url, replicaId) => logger.debug({ upstream: url, replicaId }, "invalidation stream live"),
    onDown: (url, err, retryInMs) => logger.warn({ upstream: url, err, retryInMs }, "invalidation stream broke"),
  });
  return { nearCache, subscriber };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(res.req.method === "HEAD" ? undefined : text);
}

export { loadGatewayConfig, gatewayConfigSchema, type GatewayConfig } from "./config.js";
