import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { pipeline } from "node:stream";
import { checkProxyMode, type ProxyMode } from "./proxy-mode.js";

/** One request as the proxy received it. */
export interface ProxiedRequest {
  readonly method: string;
  /** The path without the query, as sent (still percent-encoded). */
  readonly path: string;
  /** The query string with its "?", or "". */
  readonly query: string;
  /** The request's headers (lower-case names), e.g. the `traceparent` a traced client sent. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** An HTTP proxy in front of one server that counts what passes through it. */
export interface CountingProxy {
  /** "http://127.0.0.1:<port>": point the client here instead of at the target. */
  readonly url: string;
  readonly port: number;
  /** Every request received since the start or the last `reset()`, in order. */
  readonly requests: readonly ProxiedRequest[];
  /** Requests per "METHOD /path" (query left out), e.g. `{ "GET /default/a": 2 }`. */
  counts(): Record<string, number>;
  /** How many requests had this method (and this path, when given). */
  count(method: string, path?: string): number;
  /** Forgets the requests counted so far. */
  reset(): void;
  /** Client connections open right now: shows whether a client released its sockets. */
  readonly openConnections: number;
  /** How the next requests are treated; see `ProxyMode`. */
  setMode(mode: ProxyMode): void;
  readonly mode: ProxyMode;
  /** Stops listening and destroys every connection, held requests included. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 and a free port that forwards each request to
 * `target` (an "http://host:port" origin) unchanged (method, path, headers
 * including Host, so that signatures still verify) and streams both bodies.
 * Tests use it to count the calls a client makes (e.g. S3 GETs behind a
 * cache) and to inject faults with `setMode`.
 */
export async function startCountingProxy(target: string | URL): Promise<CountingProxy> {
  const origin = new URL(target);
  if (origin.protocol !== "http:") throw new RangeError(`proxy target must be http:, got ${origin.protocol}`);
  const host = origin.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(origin.port || 80);
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let requests: ProxiedRequest[] = [];
  let mode: ProxyMode = { kind: "pass" };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = httpRequest(
      // rawHeaders keeps names, order and duplicates; setHost: false keeps the client's Host.
      { host, port, method: req.method, path: req.url, headers: req.rawHeaders, setHost: false, agent },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.rawHeaders);
        // Pass the head on at once, as the target sent it, not with the first body bytes.
        res.flushHeaders();
        pipeline(upstreamRes, res, () => undefined);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent)
        res.writeHead(502, { "content-type": "text/plain", connection: "close" }).end("bad gateway");
      else res.destroy();
    });
    // The client went away before the answer was complete: give up upstream too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    // pipe, not pipeline: a failed upstream must not destroy the client's
    // request before the 502 is written.
    req.on("error", () => upstream.destroy());
    req.pipe(upstream);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    requests.push({
      method: req.method ?? "GET",
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? "" : url.slice(q),
      headers: req.headers,
    });
    const current = mode;
    switch (current.kind) {
      case "pass":
        forward(req, res);
        return;
      case "delay": {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!req.destroyed) forward(req, res);
        }, current.ms);
        timers.add(timer);
        return;
      }
      case "status":
        req.resume();
        res.writeHead(current.status, { ...current.headers }).end(current.body ?? "");
        return;
      case "reset":
        req.socket.resetAndDestroy();
        return;
      case "black-hole":
        return;
    }
  };

  const server = createServer(handle);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // A client that resets mid-request must not take the proxy down.
  server.on("clientError", (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port: ownPort } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${ownPort}`,
    port: ownPort,
    get requests() {
      return requests;
    },
    counts() {
      const counts: Record<string, number> = {};
      for (const r of requests) {
        const name = `${r.method} ${r.path}`;
        counts[name] = (counts[name] ?? 0) + 1;
      }
      return counts;
    },
    count(method, path) {
      return requests.filter((r) => r.method === method && (path === undefined || r.path === path)).length;
    },
    reset() {
      requests = [];
    },
    get openConnections() {
      return sockets.size;
    },
    get mode() {
      return mode;
    },
    setMode(next) {
      mode = checkProxyMode(next);
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        agent.destroy();
      });
      return closed;
    },
  };
}
