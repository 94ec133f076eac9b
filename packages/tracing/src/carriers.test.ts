import { ROOT_CONTEXT, propagation, trace, TraceFlags, type SpanContext } from "@opentelemetry/api";
import { TraceState, W3CTraceContextPropagator } from "@opentelemetry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headerRecordSetter, metadataSetter, requestHeadersGetter } from "./carriers.js";

const parent: SpanContext = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
};
const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/** Metadata as grpc-js keeps it: lower-case keys, `set` replacing, `get` by name. */
class FakeMetadata {
  readonly map = new Map<string, string>();
  set(key: string, value: string): void {
    this.map.set(key, value);
  }
  requestHeader(name: string): string | undefined {
    return this.map.get(name);
  }
}

describe("trace context carriers", () => {
  // The global propagator the SDK registers (W3C trace context), without the SDK.
  beforeAll(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
  afterAll(() => propagation.disable());

  it("writes traceparent and tracestate into gRPC metadata under lower-case keys", () => {
    const md = new FakeMetadata();
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { ...parent, traceState: new TraceState("vendor=1") });
    propagation.inject(ctx, md, metadataSetter);
    expect(md.map.get("traceparent")).toBe(traceparent);
    expect(md.map.get("tracestate")).toBe("vendor=1");
    metadataSetter.set(md, "TraceParent", traceparent);
    expect([...md.map.keys()]).toEqual(["traceparent", "tracestate"]);
  });

  it("reads the caller's context back from request metadata, tracestate included", () => {
    const md = new FakeMetadata();
    md.set("traceparent", traceparent);
    md.set("tracestate", "vendor=1,other=2");
    const got = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, md, requestHeadersGetter));
    expect(got).toMatchObject({ traceId: parent.traceId, spanId: parent.spanId, isRemote: true });
    expect(got?.traceState?.serialize()).toBe("vendor=1,other=2");
  });

  it("finds no context in metadata without traceparent, and ignores a malformed one", () => {
    const md = new FakeMetadata();
    expect(trace.getSpanContext(propagation.extract(ROOT_CONTEXT, md, requestHeadersGetter))).toBeUndefined();
    md.set("traceparent", "00-nothex-00f067aa0ba902b7-01");
    expect(trace.getSpanContext(propagation.extract(ROOT_CONTEXT, md, requestHeadersGetter))).toBeUndefined();
  });

  it("writes into a plain header record (the S3 request's headers)", () => {
    const headers: Record<string, string> = { host: "s3" };
    propagation.inject(trace.setSpanContext(ROOT_CONTEXT, parent), headers, headerRecordSetter);
    expect(headers).toEqual({ host: "s3", traceparent });
  });
});
