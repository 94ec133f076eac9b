import { describe, expect, it } from "vitest";
import { TracingConfigError, tracesExportersOf } from "./traces-exporter.js";

describe("tracesExportersOf", () => {
  it("stays off unless an OTEL variable asks for traces", () => {
    expect(tracesExportersOf({})).toEqual([]);
    expect(tracesExportersOf({ OTEL_SERVICE_NAME: "x", OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toEqual([]);
  });

  it("exports over OTLP when an endpoint is configured", () => {
    expect(tracesExportersOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toEqual(["otlp"]);
    expect(tracesExportersOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" })).toEqual(["otlp"]);
  });

  it("follows OTEL_TRACES_EXPORTER, none and OTEL_SDK_DISABLED winning", () => {
    expect(tracesExportersOf({ OTEL_TRACES_EXPORTER: "otlp" })).toEqual(["otlp"]);
    expect(tracesExportersOf({ OTEL_TRACES_EXPORTER: "console, otlp" })).toEqual(["console", "otlp"]);
    expect(tracesExportersOf({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c" })).toEqual([]);
    expect(tracesExportersOf({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" })).toEqual([]);
  });

  it("refuses exporters and protocols it does not ship, naming the variable", () => {
    expect(() => tracesExportersOf({ OTEL_TRACES_EXPORTER: "zipkin" })).toThrow(TracingConfigError);
    expect(() => tracesExportersOf({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL=grpc/,
    );
    expect(
      tracesExportersOf({
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
      }),
    ).toEqual(["otlp"]);
  });
});
