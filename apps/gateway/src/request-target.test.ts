import { describe, expect, it } from "vitest";
import { parseRequestTarget } from "./request-target.js";

describe("parseRequestTarget", () => {
  it("keeps the path exactly as sent: dot segments, encoded dots and backslashes are not resolved", () => {
    expect(parseRequestTarget("/objects/default/a/../b")?.pathname).toBe("/objects/default/a/../b");
    expect(parseRequestTarget("/objects/default/%2e%2e/other/k")?.pathname).toBe("/objects/default/%2e%2e/other/k");
    expect(parseRequestTarget("/objects/default/a\\..\\b")?.pathname).toBe("/objects/default/a\\..\\b");
  });

  it("splits off the query and a fragment", () => {
    const t = parseRequestTarget("/objects/default/p/?prefix=1#frag");
    expect(t?.pathname).toBe("/objects/default/p/");
    expect(t?.query.get("prefix")).toBe("1");
  });

  it("takes the absolute-form and refuses targets without a path", () => {
    expect(parseRequestTarget("http://gw:8080/objects/default/k?x=1")?.pathname).toBe("/objects/default/k");
    expect(parseRequestTarget("http://gw:8080")?.pathname).toBe("/");
    expect(parseRequestTarget("*")).toBeUndefined();
    expect(parseRequestTarget("gw:8080")).toBeUndefined();
    expect(parseRequestTarget(undefined)).toBeUndefined();
  });
});
