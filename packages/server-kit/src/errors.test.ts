import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { toWireError } from "./errors.js";

class DomainError extends Error {}

describe("toWireError", () => {
  const toServiceError = (err: unknown): unknown =>
    err instanceof DomainError ? new ConnectError(err.message, Code.NotFound, undefined, undefined, err) : err;

  it("applies the app's catalogue first, and lets ConnectErrors pass", () => {
    const domain = new DomainError("no such object");
    const mapped = toWireError(domain, undefined, toServiceError);
    expect([mapped.code, mapped.rawMessage, mapped.cause]).toEqual([Code.NotFound, "no such object", domain]);
    const own = new ConnectError("bad", Code.InvalidArgument);
    expect(toWireError(own, undefined, toServiceError)).toBe(own);
  });

  it("turns anything else into INTERNAL with a generic message, keeping the cause for logs", () => {
    const leak = new Error("ECONNREFUSED 10.0.0.7:9000 at /srv/app/secret.ts:12");
    const wire = toWireError(leak, undefined, toServiceError);
    expect([wire.code, wire.rawMessage, wire.cause]).toEqual([Code.Internal, "internal error", leak]);
    expect(wire.message).not.toMatch(/10\.0\.0\.7|secret/);
  });

  it("takes a failure of an aborted call for the abort (CANCELLED, or the abort's own ConnectError)", () => {
    const cancelled = new AbortController();
    cancelled.abort();
    expect(toWireError(new Error("socket hang up"), cancelled.signal).code).toBe(Code.Canceled);
    const late = new AbortController();
    late.abort(new ConnectError("deadline passed", Code.DeadlineExceeded));
    expect(toWireError(new Error("socket hang up"), late.signal).code).toBe(Code.DeadlineExceeded);
  });
});
