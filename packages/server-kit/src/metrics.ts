import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Logger } from "pino";
import type { CallObserver } from "./call-observer.js";
import { Code } from "@connectrpc/connect";
import { createLogThrottle, type LogThrottle } from "./log-throttle.js";

/** A Prometheus registry per service, with Node's default process metrics. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** gRPC status names as Prometheus labels and logs show them (e.g. "NOT_FOUND"). */
export function codeName(code: number): string {
  if (code === 0) return "OK";
  const name = Code[code];
  return name === undefined ? String(code) : name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** Answers, not faults: a 404 or a failed precondition is a normal outcome of a call. */
const answerCodes = new Set<number>([Code.NotFound, Code.FailedPrecondition, Code.OutOfRange, Code.AlreadyExists]);
const serverSide = new Set<number>([
  Code.Internal,
  Code.Unknown,
  Code.DataLoss,
  Code.Unavailable,
  Code.DeadlineExceeded,
]);

/** The level a call's line is written at. */
export function rpcLogLevel(code: number): "debug" | "info" | "warn" | "error" {
  if (code === 0 || code === Code.Canceled || answerCodes.has(code)) return "debug";
  if (code === Code.Internal || code === Code.Unknown) return "error";
  return serverSide.has(code) ? "warn" : "info";
}

/**
 * The per-call observer: counts and times every RPC (by method and code) and
 * logs it through a child logger made only when the line is written. OK calls
 * and answers such as NOT_FOUND log at debug; other client errors at info;
 * server errors at warn/error with their cause, at most one line a second per
 * method, code and message (with how many were held back), so an outage does
 * not write a line per refused call.
 */
export function rpcObserver(
  registry: Registry,
  logger: Logger,
  throttle: LogThrottle = createLogThrottle({ windowMs: 1_000 }),
): CallObserver {
  const calls = new Counter({
    name: "rpc_server_calls_total",
    help: "RPCs handled, by method and gRPC status code",
    labelNames: ["method", "code"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "rpc_server_duration_seconds",
    help: "RPC duration until the status was sent",
    labelNames: ["method"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return (method, code, startedAt, ctx, error) => {
    const seconds = (performance.now() - startedAt) / 1000;
    const name = codeName(code);
    calls.inc({ method, code: name });
    duration.observe({ method }, seconds);
    const level = rpcLogLevel(code);
    if (!logger.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {
      method,
      requestId: ctx.requestHeader("x-request-id"),
      code: name,
      ms: Math.round(seconds * 1e4) / 10,
    };
    if (error === undefined) {
      logger.child(fields)[level]("rpc");
      return;
    }
    if (serverSide.has(code)) {
      const { write, suppressed } = throttle.admit(`${method} ${name} ${error.rawMessage}`);
      if (!write) return;
      if (suppressed > 0) fields.suppressed = suppressed;
      const cause = error.cause;
      logger.child(fields)[level]({ err: cause instanceof Error ? cause : undefined }, error.rawMessage);
      return;
    }
    // The caller's own mistake: the message says it; a stack trace would say nothing more.
    logger.child(fields)[level](error.rawMessage);
  };
}
