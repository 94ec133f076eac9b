import { context, ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { traceFields } from "./log-trace-fields.js";

describe("traceFields", () => {
  beforeAll(() => void context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterAll(() => context.disable());

  it("names the active span's trace and span, and nothing outside a span", async () => {
    const sc = {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: TraceFlags.SAMPLED,
    };
    expect(traceFields()).toEqual({});
    const inside = await context.with(trace.setSpanContext(ROOT_CONTEXT, sc), async () => {
      await Promise.resolve(); // still there after an await (the log line of a request comes later)
      return traceFields();
    });
    expect(inside).toEqual({ trace_id: sc.traceId, span_id: sc.spanId });
  });

  it("answers a fresh object each time (pino merges the line's fields into it)", () => {
    const first = traceFields() as Record<string, unknown>;
    first.msg = "x";
    expect(traceFields()).toEqual({});
  });
});
