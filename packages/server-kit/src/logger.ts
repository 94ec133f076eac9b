import { pino, type Logger } from "pino";
import { traceFields } from "@breakwater/tracing";

/**
 * The root logger of a service: pino JSON, credentials redacted, and inside a
 * traced request `trace_id` and `span_id` on every line (its children's too).
 */
export function createLogger(options: { service: string; level: string }): Logger {
  return pino({
    level: options.level,
    base: { service: options.service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceFields,
    redact: {
      paths: [
        "authorization",
        "*.authorization",
        "headers.authorization",
        "secretAccessKey",
        "*.secretAccessKey",
        "*.S3_SECRET_KEY",
        "*.BW_ADMIN_TOKEN",
        "*.BW_TOKEN",
      ],
      censor: "[redacted]",
    },
  });
}

export type { Logger };
