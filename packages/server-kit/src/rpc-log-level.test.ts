import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { rpcLogLevel } from "./metrics.js";

describe("rpcLogLevel", () => {
  it("writes answers at debug, the caller's mistakes at info, server faults at warn or error", () => {
    expect([0, Code.Canceled, Code.NotFound, Code.FailedPrecondition, Code.OutOfRange].map(rpcLogLevel)).toEqual(
      Array(5).fill("debug"),
    );
    expect([Code.InvalidArgument, Code.ResourceExhausted, Code.Unauthenticated].map(rpcLogLevel)).toEqual(
      Array(3).fill("info"),
    );
    expect([Code.Unavailable, Code.DeadlineExceeded, Code.DataLoss].map(rpcLogLevel)).toEqual(Array(3).fill("warn"));
    expect([Code.Internal, Code.Unknown].map(rpcLogLevel)).toEqual(["error", "error"]);
  });
});
