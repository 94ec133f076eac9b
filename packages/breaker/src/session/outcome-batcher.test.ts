import { describe, expect, it } from "vitest";
import { clientHarness, NAME } from "./__fixtures__/client-harness.js";
import { DrivenTime } from "./__fixtures__/driven-time.js";
import { OutcomeBatcher } from "./outcome-batcher.js";
import type { ReportedCount } from "./session-messages.js";

const count = (successes: number, failures: number, locallyOpen = false, slowCalls = 0): ReportedCount => ({
  breaker: NAME,
  successes,
  failures,
  slowCalls,
  locallyOpen,
});

describe("outcome reports", () => {
  it("open every session with each breaker's locally_open, then batch outcomes at most every 100 ms", () => {
    const h = clientHarness({ consecutiveFailures: 100 }); // no burst here
    const stream = h.attach();
    expect(stream.reports()).toEqual([[count(0, 0)]]);
    h.time.advance(100);
    h.succeed(3);
    h.time.advance(0);
    expect(stream.reports()).toHaveLength(2); // the previous report was ≥ 100 ms ago: out at once
    for (let t = 0; t < 10; t++) {
      h.succeed(2);
      h.fail(1);
      h.time.advance(10);
    }
    // Within the 100 ms after the last report, all waits for one report.
    expect(stream.reports()).toHaveLength(3);
    expect(stream.reports()[2]).toEqual([count(20, 10)]);
    const at = stream.reports().length;
    h.time.advance(99);
    expect(stream.reports()).toHaveLength(at);
  });

  it("reports a burst of failures at once, not at the next 100 ms", () => {
    const h = clientHarness({ minimumRequests: 100 }); // the local breaker stays closed: only the count bursts
    const stream = h.attach();
    h.time.advance(20);
    h.succeed(1);
    h.time.advance(1);
    h.fail(4);
    expect(stream.reports()).toHaveLength(1);
    h.fail(1); // 5 = consecutive_failures since the last report
    h.time.advance(0);
    expect(stream.reports()).toHaveLength(2);
    expect(stream.reports()[1]).toEqual([count(1, 5, true)]);
  });

  it("reports at once when the local breaker opens, with locally_open", () => {
    const h = clientHarness({ consecutiveFailures: 50, minimumRequests: 4, failureRateThreshold: 0.5 });
    const stream = h.attach();
    h.time.advance(50);
    h.succeed(2);
    h.fail(2); // 2 of 4 failed: the local breaker opens
    h.time.advance(0);
    expect(stream.reports().at(-1)).toEqual([count(2, 2, true)]);
  });

  it("counts slow calls (at or over slow_call_ms)", () => {
    const h = clientHarness({ slowCallMs: 200 });
    const stream = h.attach();
    h.time.advance(100);
    h.breaker.record(true, 199);
    h.breaker.record(true, 200);
    h.breaker.record(false, 900);
    h.time.advance(0);
    expect(stream.reports().at(-1)).toEqual([count(2, 1, false, 2)]);
  });

  it("sends an empty report every heartbeat interval of the snapshot while nothing else goes out", () => {
    const h = clientHarness();
    const stream = h.attach(undefined, 200);
    h.time.advance(1_000);
    expect(stream.reports()).toEqual([[count(0, 0)], [], [], [], [], []]);
  });

  it("tells the coordinator when locally_open changes, even with no calls", () => {
    const h = clientHarness();
    const stream = h.attach(undefined, 200);
    h.time.advance(100);
    h.fail(5);
    h.time.advance(0);
    expect(stream.reports().at(-1)).toEqual([count(0, 5, true)]);
    h.time.advance(200);
    expect(stream.reports().at(-1)).toEqual([]); // still open: nothing new to say
  });

  it("sends nothing without a session, and reports what was seen on the next one", () => {
    const h = clientHarness();
    h.attach();
    h.time.advance(100);
    h.stream.fail();
    h.succeed(7);
    h.fail(2);
    h.time.advance(3_000);
    expect(h.transport.streams[0]!.reports()).toEqual([[count(0, 0)]]);
    const next = h.attach();
    expect(next.reports()[0]).toEqual([count(7, 2)]);
  });

  it("caps a count at uint32 and carries the rest to the next report", () => {
    const time = new DrivenTime();
    const sent: (readonly ReportedCount[])[] = [];
    const batcher = new OutcomeBatcher({ clock: time, timers: time, send: (c) => (sent.push(c), true) });
    const tally = batcher.tally("b", () => false);
    tally.successes = 2 ** 32 + 5;
    batcher.start(1_000);
    time.advance(100);
    expect(sent.map((c) => c[0]?.successes)).toEqual([2 ** 32 - 1, 6]);
  });

  it("keeps counts a send could not take", () => {
    const time = new DrivenTime();
    let accept = false;
    const sent: (readonly ReportedCount[])[] = [];
    const batcher = new OutcomeBatcher({ clock: time, timers: time, send: (c) => accept && (sent.push(c), true) });
    const tally = batcher.tally("b", () => false);
    batcher.start(1_000);
    tally.add(true, false);
    time.advance(100);
    accept = true;
    batcher.flush();
    expect(sent).toEqual([[{ breaker: "b", successes: 1, failures: 0, slowCalls: 0, locallyOpen: false }]]);
  });

  it("rejects bad options with a RangeError naming the value", () => {
    const time = new DrivenTime();
    expect(() => new OutcomeBatcher({ clock: time, timers: time, intervalMs: 0, send: () => true })).toThrow(
      /intervalMs .* got 0/,
    );
  });
});
