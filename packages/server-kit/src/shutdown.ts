import type * as http from "node:http";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

/** A server that stops taking work and lets what it has in flight finish. */
export interface Drainable {
  /** Stops accepting; resolves once the work in flight has finished and the server is closed. */
  drain(): Promise<void>;
  /** Cuts whatever still runs (the grace period is over); `drain()` resolves soon after. */
  force(): void;
}

/** Options of {@link shutDown}: the steps of a graceful shutdown, in the order they run. */
export interface ShutdownOptions {
  readonly logger: Logger;
  /** 1. Readiness off (health NOT_SERVING, /readyz 503), so balancers stop sending new work. */
  readonly notReady: () => void;
  /** 2. How long to keep serving while balancers notice (default 0). */
  readonly drainDelayMs?: number | undefined;
  /** 3. Before the drain: end long-lived streams (watches) so they do not hold the grace period open. */
  readonly beforeDrain?: (() => void) | undefined;
  /** 4. Stop accepting, then drain within `graceMs`; forced after it. */
  readonly servers: readonly Drainable[];
  readonly graceMs: number;
  /** 5. Closed once the servers are, in reverse order of the list (the last opened closes first). */
  readonly resources: readonly { close(): unknown }[];
}

/**
 * The one graceful shutdown of breakwater's services (fastify's order):
 * not ready first, a drain delay, stop accepting, drain within the grace
 * period then cut what is left, close resources in reverse.
 */
export async function shutDown(options: ShutdownOptions): Promise<void> {
  const { logger, graceMs } = options;
  logger.info({ graceMs }, "shutting down: not ready, draining in-flight calls");
  options.notReady();
  const delay = options.drainDelayMs ?? 0;
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  options.beforeDrain?.();
  const drained = Promise.all(options.servers.map((s) => s.drain()));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)));
  const inTime = await Promise.race([drained.then(() => true), timedOut]);
  clearTimeout(timer);
  if (!inTime) {
    logger.warn("grace period over: cutting the remaining calls");
    for (const s of options.servers) s.force();
    await drained;
  }
  for (const r of [...options.resources].reverse()) {
    try {
      await r.close();
    } catch (err) {
      logger.warn({ err }, "closing a resource failed");
    }
  }
  logger.info("shut down");
}

/** How often a draining HTTP server closes the keep-alive connections that have become idle. */
const IDLE_SWEEP_MS = 50;

/**
 * An HTTP/1.1 server as a {@link Drainable}. `close()` stops accepting and
 * drops idle keep-alive connections, but one that is answering a request
 * becomes idle only afterwards and would then stay open until the client
 * leaves: such connections are closed as they fall idle, so the drain ends
 * with the last request in flight. Forcing cuts every connection.
 */
export function drainableHttp(server: http.Server): Drainable {
  return {
    drain: () =>
      new Promise<void>((resolve) => {
        const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      }),
    force: () => server.closeAllConnections(),
  };
}

/** A grpc-js server as a {@link Drainable}: `tryShutdown` waits for calls, `forceShutdown` cuts them. */
export function drainableGrpc(server: grpc.Server): Drainable {
  let drained: (() => void) | undefined;
  return {
    drain: () =>
      new Promise<void>((resolve) => {
        drained = resolve;
        server.tryShutdown(() => resolve());
      }),
    force: () => {
      server.forceShutdown();
      drained?.(); // forced, the server is down whether or not tryShutdown still calls back
    },
  };
}
