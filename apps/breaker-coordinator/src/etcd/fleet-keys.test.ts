import { describe, expect, it } from "vitest";
import { fleetKeys } from "./fleet-keys.js";

describe("fleetKeys", () => {
  it("keeps a URL breaker name one segment, so a prefix read never catches another breaker", () => {
    const keys = fleetKeys("/bw");
    const a = "s3:http://a:9000/x";
    expect(keys.breaker(a)).toBe("/bw/breakers/s3%3Ahttp%3A%2F%2Fa%3A9000%2Fx");
    expect(keys.probe(a, 1).startsWith(keys.probes("s3:http://a:9000"))).toBe(false);
    expect(keys.parse(keys.breaker(a))).toEqual({ kind: "breaker", name: a });
    expect(keys.parse(keys.window(a, "r-1"))).toEqual({ kind: "window", name: a, replica: "r-1" });
    expect(keys.parse(keys.probe(a, 2))).toEqual({ kind: "probe", name: a, slot: 2 });
    expect(keys.parse(keys.instance("i/1", "r/2"))).toEqual({ kind: "instance", id: "i/1", replica: "r/2" });
    expect(keys.parse("/other/breakers/x")).toBeUndefined();
  });
});
