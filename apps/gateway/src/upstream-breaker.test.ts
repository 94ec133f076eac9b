import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { isUpstreamFailure, noUpstreamError } from "./upstream-breaker.js";

describe("isUpstreamFailure", () => {
  it("counts transport errors and the cache-store's own failure codes", () => {
    expect(isUpstreamFailure(new Error("socket hang up"))).toBe(true);
    for (const code of [Code.Unavailable, Code.Internal, Code.Unknown, Code.DeadlineExceeded, Code.DataLoss]) {
      expect(isUpstreamFailure(new ConnectError("x", code))).toBe(true);
    }
  });

  it("does not count answers: NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE", () => {
    for (const code of [
      Code.NotFound,
      Code.InvalidArgument,
      Code.FailedPrecondition,
      Code.OutOfRange,
      Code.ResourceExhausted,
    ]) {
      expect(isUpstreamFailure(new ConnectError("x", code))).toBe(false);
    }
  });

  it("does not count a cache-store's 'storage is unavailable' (UNAVAILABLE, retry-after-ms): it answered", () => {
    const storageDown = new ConnectError(
      "storage is unavailable",
      Code.Unavailable,
      new Headers({ "retry-after-ms": "1000" }),
    );
    expect(isUpstreamFailure(storageDown)).toBe(false);
    expect(isUpstreamFailure(noUpstreamError(250))).toBe(false);
  });
});
