import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { breakerV1 } from "@breakwater/proto";
import { describe, expect, it } from "vitest";
import { fromSessionResponse, toSessionRequest } from "./session-proto.js";
import type { SessionRequestMessage } from "./session-messages.js";

const roundTrip = (m: SessionRequestMessage): breakerV1.SessionRequest =>
  fromBinary(
    breakerV1.SessionRequestSchema,
    toBinary(breakerV1.SessionRequestSchema, create(breakerV1.SessionRequestSchema, toSessionRequest(m))),
  );

describe("session messages on the wire", () => {
  it("writes hello, reports (locally_open included), probe requests and results", () => {
    const hello = roundTrip({
      kind: "hello",
      hello: { instanceId: "i1", service: "gateway", address: "h:1", breakers: ["a", "b"] },
    });
    expect(hello.message).toMatchObject({
      case: "hello",
      value: { instanceId: "i1", service: "gateway", address: "h:1", breakers: ["a", "b"] },
    });
    const report = roundTrip({
      kind: "report",
      counts: [{ breaker: "a", successes: 3, failures: 2, slowCalls: 1, locallyOpen: true }],
    });
    expect(report.message).toMatchObject({
      case: "report",
      value: { counts: [{ breaker: "a", successes: 3, failures: 2, slowCalls: 1, locallyOpen: true }] },
    });
    expect(roundTrip({ kind: "report", counts: [] }).message).toMatchObject({ case: "report", value: { counts: [] } });
    expect(roundTrip({ kind: "probe-request", breaker: "a" }).message).toMatchObject({
      case: "probeRequest",
      value: { breaker: "a" },
    });
    expect(roundTrip({ kind: "probe-result", breaker: "a", permitId: "p1", success: false }).message).toMatchObject({
      case: "probeResult",
      value: { breaker: "a", permitId: "p1", success: false },
    });
  });

  it("reads the members of a snapshot and a members change", () => {
    const members = { version: 1_700_000_000_001n, members: [{ address: "a:1", instanceId: "ia" }] };
    const snapshot = create(breakerV1.SessionResponseSchema, { message: { case: "snapshot", value: { members } } });
    expect(fromSessionResponse(snapshot)).toMatchObject({
      kind: "snapshot",
      members: { version: 1_700_000_000_001, members: [{ address: "a:1", instanceId: "ia" }] },
    });
    const change = create(breakerV1.SessionResponseSchema, {
      message: { case: "members", value: { version: 5n, members: [{ address: "b:2", instanceId: "ib" }] } },
    });
    expect(fromSessionResponse(change)).toEqual({
      kind: "members",
      members: { version: 5, members: [{ address: "b:2", instanceId: "ib" }] },
    });
  });

  it("reads snapshots, transitions and grants into the breaker's terms", () => {
    const openView = create(breakerV1.BreakerViewSchema, {
      name: "a",
      state: breakerV1.BreakerState.OPEN,
      version: 7n,
      openUntil: timestampFromMs(1_700_000_000_123),
      forced: true,
    });
    const snapshot = create(breakerV1.SessionResponseSchema, {
      message: { case: "snapshot", value: { breakers: [openView], heartbeatInterval: durationFromMs(250) } },
    });
    expect(fromSessionResponse(snapshot)).toEqual({
      kind: "snapshot",
      views: [{ name: "a", state: "open", version: 7, openUntil: 1_700_000_000_123, forced: true }],
      heartbeatMs: 250,
    });
    const transition = create(breakerV1.SessionResponseSchema, {
      message: {
        case: "transition",
        value: {
          breaker: { name: "a", state: breakerV1.BreakerState.HALF_OPEN, version: 8n },
          from: breakerV1.BreakerState.OPEN,
          reason: "open time over",
          at: timestampFromMs(5_000),
        },
      },
    });
    expect(fromSessionResponse(transition)).toEqual({
      kind: "transition",
      transition: {
        name: "a",
        state: "half-open",
        to: "half-open",
        from: "open",
        version: 8,
        openUntil: undefined,
        forced: false,
        reason: "open time over",
        at: 5_000,
      },
    });
    const refused = create(breakerV1.SessionResponseSchema, {
      message: { case: "probeGrant", value: { breaker: "a", granted: false } },
    });
    expect(fromSessionResponse(refused)).toEqual({
      kind: "probe-grant",
      grant: { breaker: "a", granted: false, permitId: "", leaseExpiresAt: undefined },
    });
    const granted = create(breakerV1.SessionResponseSchema, {
      message: {
        case: "probeGrant",
        value: { breaker: "a", granted: true, permitId: "p3", leaseExpiresAt: timestampFromMs(9_999) },
      },
    });
    expect(fromSessionResponse(granted)).toMatchObject({
      grant: { granted: true, permitId: "p3", leaseExpiresAt: 9_999 },
    });
  });

  it("reads an unknown message or state as nothing / closed (a newer coordinator)", () => {
    expect(fromSessionResponse(create(breakerV1.SessionResponseSchema, {}))).toBeUndefined();
    const odd = create(breakerV1.SessionResponseSchema, {
      message: { case: "snapshot", value: { breakers: [{ name: "a", state: 99 as breakerV1.BreakerState }] } },
    });
    expect(fromSessionResponse(odd)).toMatchObject({ views: [{ state: "closed" }], heartbeatMs: undefined });
  });
});
