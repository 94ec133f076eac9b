import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { CacheError } from "@breakwater/cache";
import { codeSlug, failureOf, httpStatusOf } from "./http-errors.js";

describe("gRPC → HTTP status table", () => {
  it.each([
    [Code.NotFound, 404],
    [Code.InvalidArgument, 400],
    [Code.OutOfRange, 416],
    [Code.FailedPrecondition, 412],
    [Code.ResourceExhausted, 413],
    [Code.Unavailable, 503],
    [Code.DeadlineExceeded, 504],
    [Code.Unauthenticated, 502],
    [Code.PermissionDenied, 502],
    [Code.Internal, 502],
  ])("code %i → %i", (code, status) => {
    expect(httpStatusOf(code)).toBe(status);
  });

  it("answers 502 when the cache-store refuses the gateway's own credential (the client's was checked here)", () => {
    expect(failureOf(new ConnectError("needs a bearer token", Code.Unauthenticated))).toMatchObject({
      status: 502,
      code: "bad_gateway",
      message: expect.stringContaining("refused the gateway's own credential"),
    });
    expect(failureOf(new ConnectError("not allowed to write", Code.PermissionDenied))).toMatchObject({ status: 502 });
  });

  it("names codes in snake case", () => {
    expect(codeSlug(Code.NotFound)).toBe("not_found");
    expect(codeSlug(Code.FailedPrecondition)).toBe("failed_precondition");
  });

  it("answers a refused name 400 invalid_argument with its message", () => {
    expect(failureOf(new CacheError("invalid-argument", "the object key is empty"))).toEqual({
      status: 400,
      code: "invalid_argument",
      message: "the object key is empty",
    });
  });

  it("keeps messages meant for people, hides transport details, and turns retry-after-ms into seconds", () => {
    const open = new ConnectError(
      "storage is unavailable",
      Code.Unavailable,
      new Headers({ "retry-after-ms": "1500" }),
    );
    expect(failureOf(open)).toMatchObject({ status: 503, message: "storage is unavailable", retryAfterSeconds: 2 });
    const transport = new ConnectError("connect ECONNREFUSED 10.0.0.7:50051", Code.Unavailable);
    expect(failureOf(transport)).toMatchObject({ status: 503, message: "a cache-store upstream is unavailable" });
    expect(failureOf(new ConnectError("stack at x.ts:1", Code.Internal))).toMatchObject({
      status: 502,
      message: "upstream error",
    });
    expect(failureOf(new ConnectError("no such object", Code.NotFound))).toMatchObject({
      status: 404,
      code: "not_found",
    });
  });
});
