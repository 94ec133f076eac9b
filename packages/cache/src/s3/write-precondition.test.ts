import { describe, expect, it } from "vitest";
import { CacheError, isCacheError } from "../errors.js";
import type { ObjectMeta } from "../storage.js";
import { checkWriteCondition, etagListMatches } from "./write-precondition.js";

describe("etagListMatches", () => {
  it("matches *, lists, and tags with or without quotes", () => {
    expect(etagListMatches("*", '"a"', "strong")).toBe(true);
    expect(etagListMatches('"b", "a"', '"a"', "strong")).toBe(true);
    expect(etagListMatches("a", '"a"', "strong")).toBe(true);
    expect(etagListMatches('"b"', '"a"', "strong")).toBe(false);
  });
  it("matches nothing when there is no object", () => {
    expect(etagListMatches("*", undefined, "weak")).toBe(false);
  });
  it("compares weak tags only weakly (RFC 9110 8.8.3.2)", () => {
    expect(etagListMatches('W/"a"', '"a"', "weak")).toBe(true);
    expect(etagListMatches('W/"a"', '"a"', "strong")).toBe(false);
  });
});

describe("checkWriteCondition", () => {
  const meta = (etag: string): ObjectMeta => ({
    size: 1,
    contentType: "x",
    etag,
    lastModified: new Date(0),
    metadata: {},
  });
  const exists = (etag: string) => async () => meta(etag);
  const missing = async (): Promise<ObjectMeta> => {
    throw new CacheError("not-found", "gone");
  };
  const outcome = (p: Promise<void>): Promise<string> =>
    p.then(
      () => "ok",
      (e: unknown) => (isCacheError(e) ? e.kind : "other"),
    );

  it("holds If-None-Match: * only for a missing object", async () => {
    expect(await outcome(checkWriteCondition({ ifNoneMatch: "*" }, missing))).toBe("ok");
    expect(await outcome(checkWriteCondition({ ifNoneMatch: "*" }, exists('"a"')))).toBe("precondition-failed");
  });
  it("holds If-Match only for the current etag", async () => {
    expect(await outcome(checkWriteCondition({ ifMatch: '"a"' }, exists('"a"')))).toBe("ok");
    expect(await outcome(checkWriteCondition({ ifMatch: '"b"' }, exists('"a"')))).toBe("precondition-failed");
    expect(await outcome(checkWriteCondition({ ifMatch: "*" }, missing))).toBe("precondition-failed");
  });
  it("lets storage failures through", async () => {
    const down = async (): Promise<ObjectMeta> => {
      throw new CacheError("unavailable", "down");
    };
    expect(await outcome(checkWriteCondition({ ifMatch: '"a"' }, down))).toBe("unavailable");
  });
});
