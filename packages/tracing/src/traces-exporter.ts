/** Where a process sends its spans, as the standard OTEL_* variables ask. */
export type TracesExporter = "otlp" | "console";

/** A tracing variable with a value breakwater does not support; the message names it and what is. */
export class TracingConfigError extends Error {
  override readonly name = "TracingConfigError";
}

const supportedProtocols = new Set(["http/protobuf"]);

/**
 * The exporters the environment asks for; none means tracing stays off (the
 * API's no-op). The SDK starts only when asked: OTEL_TRACES_EXPORTER names
 * `otlp` or `console`, or, with it unset, an OTLP endpoint is configured
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
 * OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none keep it off.
 */
export function tracesExportersOf(env: Readonly<Record<string, string | undefined>>): TracesExporter[] {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return [];
  const named = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  const endpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const exporters = new Set<TracesExporter>();
  if (named.length === 0) {
    if (endpoint !== undefined) exporters.add("otlp");
  } else {
    for (const name of named) {
      if (name === "none") return [];
      if (name !== "otlp" && name !== "console") {
        throw new TracingConfigError(
          `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: "${name}" is not supported (otlp, console or none)`,
        );
      }
      exporters.add(name);
    }
  }
  if (exporters.has("otlp")) {
    for (const variable of ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] as const) {
      const protocol = nonEmpty(env[variable]);
      if (protocol !== undefined && !supportedProtocols.has(protocol)) {
        throw new TracingConfigError(`${variable}=${protocol}: breakwater exports traces over http/protobuf only`);
      }
      if (protocol !== undefined) break; // the traces-specific one overrides the general one
    }
  }
  return [...exporters];
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v.length === 0 ? undefined : v;
}
