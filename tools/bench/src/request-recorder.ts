import { Agent, createServer, request as httpRequest } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { pipeline } from "node:stream";

/** One request that passed the recorder, with wall-clock times (`Date.now()`, the clock pino's log times use). */
export interface RecordedRequest {
  /** When the request's head arrived. */
  readonly at: number;
  readonly method: string;
  /** The path without the query, as sent. */
  readonly path: string;
  /** The status the target answered; undefined until its head came back (or when it never did). */
  status: number | undefined;
  /** When that answer's head was passed on to the client. */
  answeredAt: number | undefined;
}

/** An HTTP hop that forwards everything and writes down when each request came and what it was answered. */
export interface RequestRecorder {
  /** "http://127.0.0.1:<port>": point the client here. */
  readonly url: string;
  /** Every request since the start, in arrival order; never cleared (use indices to mark a run's start). */
  readonly requests: readonly RecordedRequest[];
  /** Client connections open right now. */
  readonly openConnections: number;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

/**
 * Starts a recorder on 127.0.0.1 and a free port in front of `target` (an
 * "http://host:port" origin). testkit's counting proxy injects faults and
 * counts, but keeps no times and no answers; the fleet-convergence bench needs
 * both (when the first 503 went out, when each replica's last request came),
 * so this hop sits between the replicas and that proxy. Headers (Host
 * included, so S3 signatures verify) and bodies pass unchanged.
 */
export async function startRequestRecorder(target: string): Promise<RequestRecorder> {
  const origin = new URL(target);
  if (origin.protocol !== "http:") throw new RangeError(`recorder target must be http:, got ${origin.protocol}`);
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const entry: RecordedRequest = {
      at: Date.now(),
      method: req.method ?? "GET",
      path: q < 0 ? url : url.slice(0, q),
      status: undefined,
      answeredAt: undefined,
    };
    requests.push(entry);
    const upstream = httpRequest(
      {
        host: origin.hostname,
        port: Number(origin.port || 80),
        method: req.method,
        path: url,
        headers: req.rawHeaders,
        setHost: false,
        agent,
      },
      (upstreamRes) => {
        entry.status = upstreamRes.statusCode;
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.rawHeaders);
        res.flushHeaders();
        entry.answeredAt = Date.now();
        pipeline(upstreamRes, res, () => undefined);
      },
    );
    upstream.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502, { connection: "close" }).end()));
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.on("error", () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    get openConnections() {
      return sockets.size;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        agent.destroy();
      });
      return closed;
    },
  };
}
