import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { isGrpcFailure } from "./grpc-failure.js";

describe("isGrpcFailure", () => {
  it("counts UNAVAILABLE, INTERNAL, UNKNOWN, DEADLINE_EXCEEDED, DATA_LOSS and transport errors; not answers", () => {
    const codes = [Code.Unavailable, Code.Internal, Code.Unknown, Code.DeadlineExceeded, Code.DataLoss];
    expect(codes.map((c) => isGrpcFailure(new ConnectError("x", c)))).toEqual([true, true, true, true, true]);
    expect([new Error("ECONNRESET"), "boom", { code: "ECONNREFUSED" }].map(isGrpcFailure)).toEqual([true, true, true]);
    const answers = [
      Code.NotFound,
      Code.InvalidArgument,
      Code.FailedPrecondition,
      Code.OutOfRange,
      Code.Canceled,
      Code.ResourceExhausted,
    ];
    expect(answers.map((c) => isGrpcFailure(new ConnectError("x", c)))).toEqual(Array(answers.length).fill(false));
    expect(isGrpcFailure({ code: 5, details: "grpc-js ServiceError" })).toBe(false);
  });
});
