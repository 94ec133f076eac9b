import { diag, DiagLogLevel, type DiagLogger } from "@opentelemetry/api";
import { markTracingStarted } from "./tracer.js";
import { tracesExportersOf } from "./traces-exporter.js";

/** The process's tracing: on (the SDK runs and exports) or off (the API's no-op). */
export interface Tracing {
  /** True when the SDK runs: spans are recorded and exported. */
  readonly enabled: boolean;
  /** Exports the spans still buffered and stops the SDK (on graceful shutdown); nothing to do when off. */
  shutdown(): Promise<void>;
}

/** Options of {@link startTracing}. */
export interface StartTracingOptions {
  /** The environment, for the OTEL_* variables (main.ts passes process.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The resource's service.name unless OTEL_SERVICE_NAME names one: the app's name. */
  readonly serviceName: string;
  /** Where the SDK's own warnings go (a failed export, a bad sampler variable). */
  readonly warn?: ((message: string) => void) | undefined;
}

const off: Tracing = { enabled: false, shutdown: async () => undefined };

/**
 * Starts the OpenTelemetry SDK when the environment asks for traces (see
 * `tracesExportersOf`), else leaves the API's no-op in place, which is all the
 * request path then costs. The SDK is loaded only when started. Under it:
 * W3C trace context and baggage propagation, an AsyncLocalStorage context, a
 * batching OTLP/HTTP protobuf exporter configured by the standard variables
 * (endpoint, headers, timeout, OTEL_BSP_*), the sampler of OTEL_TRACES_SAMPLER
 * and OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on), and
 * OTEL_RESOURCE_ATTRIBUTES on the resource.
 */
export async function startTracing(options: StartTracingOptions): Promise<Tracing> {
  const exporters = tracesExportersOf(options.env);
  if (exporters.length === 0) return off;
  const [node, otlp, resources, core, semconv] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/core"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  if (options.warn !== undefined) diag.setLogger(diagLoggerOf(options.warn), DiagLogLevel.WARN);
  const serviceName = options.env.OTEL_SERVICE_NAME?.trim() || options.serviceName;
  const resource = resources
    .resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: serviceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new node.NodeTracerProvider({
    resource,
    spanProcessors: exporters.map((exporter) =>
      exporter === "otlp"
        ? new node.BatchSpanProcessor(new otlp.OTLPTraceExporter())
        : new node.SimpleSpanProcessor(new node.ConsoleSpanExporter()),
    ),
  });
  provider.register({
    propagator: new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
  });
  markTracingStarted();
  return { enabled: true, shutdown: () => provider.shutdown() };
}

function diagLoggerOf(warn: (message: string) => void): DiagLogger {
  const write = (message: string, ...args: unknown[]): void =>
    warn(["opentelemetry:", message, ...args.map((a) => (a instanceof Error ? a.message : String(a)))].join(" "));
  const ignore = (): void => undefined;
  return { error: write, warn: write, info: ignore, debug: ignore, verbose: ignore };
}
