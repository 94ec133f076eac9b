import { propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { afterEach, describe, expect, it } from "vitest";
import { httpServerSpans } from "./http-spans.js";

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("httpServerSpans without the SDK", () => {
  afterEach(() => propagation.disable());

  it("has nothing to do with tracing off: the request is answered as if untraced", () => {
    const spans = httpServerSpans("/objects/{bucket}/{key}");
    expect(spans.start("GET", "/objects/b/k", {})).toBeUndefined();
    expect(spans.start("GET", "/objects/b/k", { traceparent })).toBeUndefined(); // no propagator either
  });

  it("passes a caller's context on when only a propagator is registered (a span it does not record)", () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const traced = httpServerSpans("/objects/{bucket}/{key}").start("GET", "/objects/b/k", { traceparent });
    expect(traced?.span.isRecording()).toBe(false);
    expect(trace.getSpanContext(traced!.context)).toMatchObject({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
    });
  });
});
