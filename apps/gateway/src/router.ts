import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { Logger } from "@breakwater/server-kit";
import { gatewayErrors, sendError } from "./http-errors.js";
import type { NearCache } from "./near-cache.js";
import type { RequestTarget } from "./request-target.js";
import type { UpstreamPool } from "./upstreams.js";

/** The route label of a request: a handful of fixed values, never the path itself (label cardinality). */
export type RouteName = "objects" | "healthz" | "readyz" | "metrics" | "unknown";

/** The route of a raw path (undefined: the request-target has none). */
export function routeOf(pathname: string | undefined): RouteName {
  if (pathname === undefined) return "unknown";
  if (pathname.startsWith("/objects/")) return "objects";
  if (pathname === "/healthz" || pathname === "/readyz" || pathname === "/metrics")
    return pathname.slice(1) as RouteName;
  return "unknown";
}

/** Answers `/objects/…`; a boolean when answered at once, a promise when a cache-store is called. */
export type ObjectHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  query: URLSearchParams,
) => boolean | Promise<boolean>;

/** Options of {@link createRouter}. */
export interface RouterOptions {
  readonly objects: ObjectHandler;
  readonly upstreams: UpstreamPool;
  readonly nearCache: NearCache | undefined;
  readonly registry: Registry;
  /** True once shutdown began: /healthz and /readyz answer 503. */
  readonly shuttingDown: () => boolean;
  readonly logger: Logger;
}

/** Sends a routed request to its handler; a failure it throws is logged and answered 500. */
export type Router = (
  req: IncomingMessage,
  res: ServerResponse,
  url: RequestTarget | undefined,
  name: RouteName,
) => void;

/** The gateway's routes: the object API, /healthz, /readyz, /metrics. */
export function createRouter(options: RouterOptions): Router {
  const { upstreams, nearCache, registry, logger } = options;

  function requestFailed(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    logger.error({ err, url: req.url, method: req.method }, "request failed");
    sendError(res, gatewayErrors.internal);
  }

  /** Every route but /objects/, which `dispatch` calls itself (its hits answer without a promise). */
  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    url: RequestTarget | undefined,
    name: Exclude<RouteName, "objects">,
  ): Promise<void> {
    const get = req.method === "GET" || req.method === "HEAD";
    switch (name) {
      case "healthz": {
        if (!get) break;
        const down = options.shuttingDown();
        json(res, down ? 503 : 200, { status: down ? "shutting down" : "ok" });
        return;
      }
      case "readyz": {
        if (!get) break;
        const ready = !options.shuttingDown() && (await upstreams.ready());
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
        sendError(res, url === undefined ? gatewayErrors.noPath : gatewayErrors.noRoute);
        return;
    }
    sendError(res, gatewayErrors.methodNotAllowed(req.method, "here"), {
      allow: name === "metrics" ? "GET" : "GET, HEAD",
    });
  }

  return function dispatch(req, res, url, name) {
    try {
      // Objects without an async wrapper: a near-cache hit is answered before this returns.
      const answering =
        name === "objects" ? options.objects(req, res, url!.pathname, url!.query) : route(req, res, url, name);
      if (answering instanceof Promise) answering.catch((err: unknown) => requestFailed(req, res, err));
    } catch (err) {
      requestFailed(req, res, err);
    }
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(res.req.method === "HEAD" ? undefined : text);
}
