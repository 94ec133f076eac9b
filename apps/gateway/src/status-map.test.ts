import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { codeSlug, httpStatusOf } from "./status-map.js";

describe("gRPC → HTTP status table", () => {
  it.each([
    [Code.NotFound, 404],
    [Code.InvalidArgument, 400],
    [Code.OutOfRange, 416],
    [Code.FailedPrecondition, 412],
    [Code.ResourceExhausted, 413],
    [Code.Unavailable, 503],
    [Code.DeadlineExceeded, 504],
    [Code.Unauthenticated, 401],
    [Code.Internal, 502],
  ])("code %i → %i", (code, status) => {
    expect(httpStatusOf(code)).toBe(status);
  });

  it("names codes in snake case", () => {
    expect(codeSlug(Code.NotFound)).toBe("not_found");
    expect(codeSlug(Code.FailedPrecondition)).toBe("failed_precondition");
  });
});
