import { describe, expect, it } from "vitest";
import { ifNoneMatchFails, isNotModified, parseEntityTag, parseIfNoneMatch, weakMatch } from "./conditional.js";
import type { ObjectMeta } from "./storage.js";

const meta: ObjectMeta = {
  size: 3,
  contentType: "text/plain",
  etag: '"abc"',
  lastModified: new Date("2024-05-01T10:00:00.750Z"),
  metadata: {},
};

describe("entity tags (RFC 9110 8.8.3)", () => {
  it("parses strong and weak tags", () => {
    expect(parseEntityTag('"abc"')).toEqual({ weak: false, opaque: "abc" });
    expect(parseEntityTag('W/"abc"')).toEqual({ weak: true, opaque: "abc" });
    expect(parseEntityTag('""')).toEqual({ weak: false, opaque: "" });
  });

  it("rejects malformed tags", () => {
    for (const bad of ["abc", '"abc', 'w/"abc"', '"a b"', '"a""b"', '"a", "b"']) {
      expect(parseEntityTag(bad)).toBeUndefined();
    }
  });

  it("parses lists, * and skips malformed members", () => {
    expect(parseIfNoneMatch(" * ")).toBe("*");
    expect(parseIfNoneMatch('"a", W/"b",  "c,d"')).toEqual([
      { weak: false, opaque: "a" },
      { weak: true, opaque: "b" },
      { weak: false, opaque: "c,d" },
    ]);
    expect(parseIfNoneMatch('bogus, "x"')).toEqual([{ weak: false, opaque: "x" }]);
  });

  it("compares weakly (8.8.3.2 table)", () => {
    const t = (s: string) => parseEntityTag(s)!;
    expect(weakMatch(t('W/"1"'), t('W/"1"'))).toBe(true);
    expect(weakMatch(t('W/"1"'), t('W/"2"'))).toBe(false);
    expect(weakMatch(t('W/"1"'), t('"1"'))).toBe(true);
    expect(weakMatch(t('"1"'), t('"1"'))).toBe(true);
  });
});

describe("If-None-Match (RFC 9110 13.1.2)", () => {
  it("fails on a matching member, weak or strong, and on *", () => {
    expect(ifNoneMatchFails('"abc"', '"abc"')).toBe(true);
    expect(ifNoneMatchFails('W/"abc"', '"abc"')).toBe(true);
    expect(ifNoneMatchFails('"x", "abc"', 'W/"abc"')).toBe(true);
    expect(ifNoneMatchFails("*", '"anything"')).toBe(true);
  });

  it("holds when nothing matches", () => {
    expect(ifNoneMatchFails('"abd"', '"abc"')).toBe(false);
    expect(ifNoneMatchFails("abc", '"abc"')).toBe(false);
    expect(ifNoneMatchFails("", '"abc"')).toBe(false);
  });
});

describe("isNotModified", () => {
  it("answers from If-None-Match", () => {
    expect(isNotModified({ ifNoneMatch: '"abc"' }, meta)).toBe(true);
    expect(isNotModified({ ifNoneMatch: '"zzz"' }, meta)).toBe(false);
  });

  it("uses If-Modified-Since at one-second resolution", () => {
    expect(isNotModified({ ifModifiedSince: new Date("2024-05-01T10:00:00Z") }, meta)).toBe(true);
    expect(isNotModified({ ifModifiedSince: new Date("2024-05-01T11:00:00Z") }, meta)).toBe(true);
    expect(isNotModified({ ifModifiedSince: new Date("2024-05-01T09:59:59Z") }, meta)).toBe(false);
  });

  it("ignores If-Modified-Since when If-None-Match is present (13.1.3)", () => {
    const later = new Date("2024-06-01T00:00:00Z");
    expect(isNotModified({ ifNoneMatch: '"other"', ifModifiedSince: later }, meta)).toBe(false);
  });

  it("ignores an invalid date", () => {
    expect(isNotModified({ ifModifiedSince: new Date("nope") }, meta)).toBe(false);
    expect(isNotModified({}, meta)).toBe(false);
  });
});
