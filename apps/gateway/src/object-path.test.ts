import { describe, expect, it } from "vitest";
import { isCacheError } from "@breakwater/cache";
import { parseObjectPath } from "./object-path.js";

describe("parseObjectPath", () => {
  it("splits bucket and key, keeping slashes and decoding once", () => {
    expect(parseObjectPath("/objects/default/a/b.txt")).toEqual({ bucket: "default", key: "a/b.txt" });
    expect(parseObjectPath("/objects/default/with%20space/%C3%A9t%C3%A9.txt")).toEqual({
      bucket: "default",
      key: "with space/été.txt",
    });
    expect(parseObjectPath("/objects/default/a%2Fb")).toEqual({ bucket: "default", key: "a/b" });
    expect(parseObjectPath("/objects/default/100%2525")).toEqual({ bucket: "default", key: "100%25" });
  });

  it("admits an empty key only when asked (a PURGE of a bucket-wide prefix)", () => {
    expect(parseObjectPath("/objects/default/", { keyMayBeEmpty: true })).toEqual({ bucket: "default", key: "" });
    expect(parseObjectPath("/objects/default", { keyMayBeEmpty: true })).toEqual({ bucket: "default", key: "" });
    expect(() => parseObjectPath("/objects/", { keyMayBeEmpty: true })).toThrow("bucket is empty");
  });

  it("is not for other paths", () => {
    expect(parseObjectPath("/healthz")).toBeUndefined();
  });

  it.each([
    ["/objects/default/", "empty"],
    ["/objects/default", "empty"],
    ["/objects//key", "bucket is empty"],
    ["/objects/default/a/../b", '".."'],
    ["/objects/default/%2e%2e/b", '".."'],
    ["/objects/default/./b", '"."'],
    ["/objects/default/a%00b", "control"],
    ["/objects/default/a%0Ab", "control"],
    ["/objects/default/%E0%A4%A", "percent-encoding"],
    ["/objects/default/%FF", "percent-encoding"],
    ["/objects/ab/key", "bucket"],
    ["/objects/Default/key", "bucket"],
    ["/objects/192.168.1.1/key", "bucket"],
    ["/objects/a..b/key", "bucket"],
    ["/objects/default/a%C2%85b", "control"],
  ])("refuses %s", (path, why) => {
    expect(() => parseObjectPath(path)).toThrow(why);
    expect(refusal(path)).toSatisfy((err) => isCacheError(err, "invalid-argument"));
  });
});

function refusal(path: string): unknown {
  try {
    parseObjectPath(path);
  } catch (err) {
    return err;
  }
  return undefined;
}
