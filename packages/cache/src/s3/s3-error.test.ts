import { describe, expect, it } from "vitest";
import { CacheError } from "../errors.js";
import { storageSaidNotModified, toCacheError } from "./s3-error.js";

/** An error shaped like the SDK's ServiceException. */
function s3Error(name: string, status: number | undefined, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });
}

describe("toCacheError", () => {
  it.each([
    [s3Error("NoSuchKey", 404, { Code: "NoSuchKey" }), "not-found"],
    [s3Error("NotFound", 404), "not-found"],
    [s3Error("NoSuchBucket", 404, { Code: "NoSuchBucket" }), "not-found"],
    [s3Error("InvalidBucketName", 400), "invalid-argument"],
    [s3Error("InvalidArgument", 400), "invalid-argument"],
    [s3Error("InvalidRange", 416), "range-not-satisfiable"],
    [s3Error("PreconditionFailed", 412), "precondition-failed"],
    [s3Error("ConditionalRequestConflict", 409), "precondition-failed"],
    [s3Error("SlowDown", 503), "unavailable"],
    [s3Error("Unknown", 429), "unavailable"],
    [s3Error("InternalError", 500), "unavailable"],
    [s3Error("NotImplemented", 501), "unavailable"],
    [s3Error("MethodNotAllowed", 405), "unavailable"],
    [s3Error("AccessDenied", 403), "unavailable"],
    [s3Error("RequestTimeout", 400), "unavailable"],
    [s3Error("TimeoutError", undefined), "unavailable"],
    [Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED", $metadata: {} }), "unavailable"],
    [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "unavailable"],
    [s3Error("AbortError", undefined), "cancelled"],
    ["not even an error", "unavailable"],
  ] as const)("maps %s to %s", (err, kind) => {
    const mapped = toCacheError(err, "get b/k");
    expect(mapped.kind).toBe(kind);
    expect(mapped.cause).toBe(err);
    expect(mapped.message.startsWith("get b/k: ")).toBe(true);
  });

  it("keeps the object size of a 416", () => {
    expect(toCacheError(s3Error("InvalidRange", 416, { ActualObjectSize: "1000" }), "get").objectSize).toBe(1000);
    expect(toCacheError(s3Error("InvalidRange", 416), "get").objectSize).toBeUndefined();
  });

  it("answers cancelled for anything once the caller's signal aborted", () => {
    expect(toCacheError(s3Error("InternalError", 500), "get", AbortSignal.abort()).kind).toBe("cancelled");
  });

  it("passes CacheErrors through", () => {
    const original = new CacheError("too-large", "limit");
    expect(toCacheError(original, "put")).toBe(original);
  });
});

describe("storageSaidNotModified", () => {
  it("recognises the SDK's 304 error, whatever its name", () => {
    expect(storageSaidNotModified(s3Error("Unknown", 304))).toBe(true);
    expect(storageSaidNotModified(s3Error("NotModified", 304))).toBe(true);
    expect(storageSaidNotModified(s3Error("NoSuchKey", 404))).toBe(false);
    expect(storageSaidNotModified(undefined)).toBe(false);
  });
});
