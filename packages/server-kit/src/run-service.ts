import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ConfigError } from "./config.js";
import { PortInUseError, type ServiceAddresses } from "./service-server.js";

/** What `runService` starts: something that listens and shuts down. */
export interface Runnable {
  listen(): Promise<ServiceAddresses | unknown>;
  shutdown(): Promise<void>;
}

/** What a process exports last on shutdown, after its servers have drained: its buffered spans. */
export interface Telemetry {
  shutdown(): Promise<void>;
}

/** How long the last export may hold the exit (a collector that is down must not keep the process). */
const TELEMETRY_FLUSH_MS = 5_000;

/**
 * The common tail of every app's main.ts: a config problem exits 2 with every
 * problem listed; a port in use exits 1 with a one-line message (no stack);
 * SIGTERM/SIGINT shut down gracefully and exit 0 (a second signal forces),
 * the spans of the last requests exported before the exit.
 */
export async function runService<C>(options: {
  readonly loadConfig: () => C;
  readonly start: (config: C) => Promise<{ server: Runnable; logger: Logger; tracing?: Telemetry }>;
}): Promise<void> {
  let config: C;
  try {
    config = options.loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  let log: Logger | undefined;
  try {
    const { server, logger, tracing } = await options.start(config);
    log = logger;
    routeGrpcLogs(logger);
    await server.listen();
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting now");
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, "signal received");
      server.shutdown().then(
        () => flushed(tracing, logger).then(() => process.exit(0)),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  } catch (err) {
    if (err instanceof PortInUseError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(1);
    }
    if (log) log.fatal({ err }, "failed to start");
    else process.stderr.write(`failed to start: ${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  }
}

/** Exports what `telemetry` still buffers, within TELEMETRY_FLUSH_MS; a failure is logged, never thrown. */
async function flushed(telemetry: Telemetry | undefined, logger: Logger): Promise<void> {
  if (telemetry === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      logger.warn({ ms: TELEMETRY_FLUSH_MS }, "spans not exported in time: exiting without them");
      resolve();
    }, TELEMETRY_FLUSH_MS);
  });
  try {
    await Promise.race([telemetry.shutdown(), late]);
  } catch (err) {
    logger.warn({ err }, "exporting the last spans failed");
  } finally {
    clearTimeout(timer);
  }
}

/**
 * grpc-js's own log lines go to the service's logger, as JSON like every other
 * line, but for its summary of a failed bind: that failure reaches `listen()`
 * and is reported once (a port in use: one line).
 */
function routeGrpcLogs(logger: Logger): void {
  const child = logger.child({ source: "grpc-js" });
  const to =
    (level: "error" | "info" | "debug") =>
    (...args: unknown[]): void => {
      const text = args.map(String).join(" ");
      if (!text.startsWith("No address added out of total")) child[level](text);
    };
  grpc.setLogger({ error: to("error"), info: to("info"), debug: to("debug") });
}
