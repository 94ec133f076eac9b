/**
 * The gateway's integration tests run against real processes: s3rver (in the
 * test process, optionally behind a counting proxy), a built cache-store and
 * one or more built gateways (`apps/<app>/dist/main.js`), called with Node's
 * own HTTP clients. Build first (`npx nx run-many -t build`).
 */
import { createHash } from "node:crypto";
import { request, type Agent, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { connect } from "node:net";
// Test support only: this directory is excluded from the app's build.
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  freePort,
  startCountingProxy,
  startS3Server,
  startServiceProcess,
  type CountingProxy,
  type ServiceProcess,
} from "@breakwater/testkit";

type S3 = Awaited<ReturnType<typeof startS3Server>>;

/** gateway(s) → cache-store → (counting proxy →) s3rver, all real processes but s3rver. */
export interface Stack {
  readonly s3: S3;
  /** Between cache-store and s3rver when asked for. */
  readonly proxy: CountingProxy | undefined;
  /** The first cache-store. */
  readonly cacheStore: ServiceProcess;
  /** Every cache-store, each an upstream of every gateway. */
  readonly cacheStores: ServiceProcess[];
  readonly gateways: ServiceProcess[];
  /** `${gateway.httpUrl}/objects/default` of the first gateway. */
  readonly base: string;
  stop(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  readonly gateways?: number;
  /** Cache-store replicas (default 1). */
  readonly cacheStores?: number;
  /** Make the replicas follow each other's invalidations (CACHE_STORE_PEERS). */
  readonly peers?: boolean;
  readonly gatewayEnv?: Record<string, string>;
  /** The gateways' CACHE_STORE_URLS from the replicas' URLs (default: those URLs). */
  readonly gatewayUpstreams?: (urls: string[]) => string[];
  readonly cacheStoreEnv?: Record<string, string>;
  readonly proxy?: boolean;
}

/** Starts the stack on free ports (build first: the apps run from dist/). */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const s3 = await startS3Server({ buckets: ["default", "other"] });
  const proxy = options.proxy ? await startCountingProxy(s3.endpoint) : undefined;
  const cacheStores: ServiceProcess[] = [];
  // Peers must know each other's ports before any of them starts.
  const ports = options.peers
    ? await Promise.all(Array.from({ length: options.cacheStores ?? 1 }, () => freePort()))
    : [];
  const peersOf = (i: number): Record<string, string> =>
    options.peers
      ? {
          CACHE_STORE_PORT: String(ports[i]),
          CACHE_STORE_PEERS: ports
            .filter((_, j) => j !== i)
            .map((p) => `http://127.0.0.1:${p}`)
            .join(","),
        }
      : {};
  for (let i = 0; i < (options.cacheStores ?? 1); i++) {
    cacheStores.push(
      await startServiceProcess("cache-store", {
        env: {
          ...peersOf(i),
          S3_ENDPOINT: proxy?.url ?? s3.endpoint,
          S3_ACCESS_KEY: s3.accessKeyId,
          S3_SECRET_KEY: s3.secretAccessKey,
          // The gateways' invalidation streams never end by themselves: do not wait 10 s for them.
          SHUTDOWN_GRACE_MS: "500",
          ...options.cacheStoreEnv,
        },
      }),
    );
  }
  const gateways: ServiceProcess[] = [];
  const urls = cacheStores.map((c) => `http://${c.grpcAddress}`);
  const upstreamUrls = options.gatewayUpstreams?.(urls) ?? urls;
  for (let i = 0; i < (options.gateways ?? 1); i++) {
    gateways.push(
      await startServiceProcess("gateway", {
        env: { CACHE_STORE_URLS: upstreamUrls.join(","), ...options.gatewayEnv },
      }),
    );
  }
  return {
    s3,
    proxy,
    cacheStore: cacheStores[0]!,
    cacheStores,
    gateways,
    base: `${gateways[0]!.httpUrl}/objects/default`,
    async stop() {
      await Promise.all(gateways.map((g) => g.stop()));
      await Promise.all(cacheStores.map((c) => c.stop()));
      await proxy?.close();
      await s3.close();
    },
  };
}

/** A plain answer of {@link httpRequest}. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * One request through node:http with the path exactly as given (fetch would
 * normalise "..", "%2e%2e" and friends before sending).
 */
export function httpRequest(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string | number>; body?: Buffer | string } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/**
 * Writes raw bytes on a fresh TCP connection and collects what comes back
 * until the server closes, `untilMs` passes, or the answer's head has arrived
 * when `headOnly` is set. Never throws on resets: those are answers too.
 */
export function rawExchange(
  port: number,
  write: (socket: import("node:net").Socket) => void,
  options: { untilMs?: number; headOnly?: boolean } = {},
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), options.untilMs ?? 5_000);
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (options.headOnly && text.includes("\r\n\r\n")) finish(false);
    });
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
    socket.on("connect", () => write(socket));
  });
}

/** Status code of a raw HTTP/1.1 answer, or 0 when nothing came back. */
export function statusOf(raw: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return m ? Number(m[1]) : 0;
}

/** Runs `tasks` with at most `limit` in flight. */
export async function withConcurrency<T>(limit: number, count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return out;
}

/** How a body ended: whole (Content-Length met) or not, the client's error if any, and when. */
export interface BodyEnding {
  readonly complete: boolean;
  readonly bytes: number;
  /** sha256 (hex) of the bytes received. */
  readonly sha256: string;
  readonly error?: string;
  /** performance.now() at the end. */
  readonly at: number;
}

/** A GET whose reader is paused after the first bytes, until `resume()`; `ending()` is set once the body ends. */
export interface PausedRead {
  readonly res: IncomingMessage;
  resume(): void;
  ending(): BodyEnding | undefined;
}

/**
 * Starts a GET and pauses its reader on the first body bytes: the request
 * stays in flight (the server blocked on backpressure) until `resume()`.
 * `agent: false` sends `Connection: close`; pass a keep-alive Agent to see
 * whether the server cuts a connection or merely ends the response.
 */
export function pausedRead(port: number, path: string, agent: Agent | false = false): Promise<PausedRead> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
      let bytes = 0;
      const hash = createHash("sha256");
      let ending: BodyEnding | undefined;
      const settle = (complete: boolean, error?: string): void => {
        ending ??= { complete, bytes, sha256: hash.digest("hex"), at: performance.now(), ...(error ? { error } : {}) };
      };
      res.on("data", (d: Buffer) => {
        bytes += d.length;
        hash.update(d);
      });
      res.once("data", () => {
        res.pause();
        resolve({ res, resume: () => res.resume(), ending: () => ending });
      });
      res.on("end", () => settle(res.complete));
      res.on("error", (err) => settle(false, String(err)));
      res.on("aborted", () => settle(false, "aborted"));
    });
    req.on("error", reject);
    req.end();
  });
}
