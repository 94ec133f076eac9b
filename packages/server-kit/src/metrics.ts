import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Logger } from "pino";
import type { CallObserver } from "./call-observer.js";
import { Code } from "@connectrpc/connect";

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

/**
 * The per-call observer: counts and times every RPC (by method and code) and
 * logs it through a child logger made only when the line is written. OK calls
 * log at debug; client errors at info; server errors at warn/error with cause.
 */
export function rpcObserver(registry: Registry, logger: Logger): CallObserver {
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
  const serverSide = new Set<number>([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unavailable, Code.DeadlineExceeded]);
  return (method, code, startedAt, ctx, error) => {
    const seconds = (performance.now() - startedAt) / 1000;
    const name = codeName(code);
    calls.inc({ method, code: name });
    duration.observe({ method }, seconds);
    const level = code === 0 || code === Code.Canceled ? "debug" : serverSide.has(code) ? (code === Code.Internal || code === Code.Unknown ? "error" : "warn") : "info";
    if (!logger.isLevelEnabled(level)) return;
    const child = logger.child({ method, requestId: ctx.requestHeader("x-request-id"), code: name, ms: Math.round(seconds * 1e4) / 10 });
    const cause = error?.cause;
    if (error === undefined) child[level]("rpc");
    else child[level]({ err: cause instanceof Error ? cause : undefined }, error.rawMessage);
  };
}
