import { describe, expect, it } from "vitest";
import { ReplicaChoice } from "./replica-choice.js";

const three = ["http://a:1", "http://b:1", "http://c:1"];

/** A random source that answers the given draws in turn. */
function draws(...values: number[]): () => number {
  return () => {
    const v = values.shift();
    if (v === undefined) throw new Error("no draw left");
    return v;
  };
}

describe("ReplicaChoice", () => {
  it("starts at a random replica, so a fleet spreads over them", () => {
    const firsts = [0, 0.34, 0.67, 0.99].map((r) => new ReplicaChoice(() => r).next(three));
    expect(firsts).toEqual(["http://a:1", "http://b:1", "http://c:1", "http://c:1"]);
  });

  it("after a failure, tries a replica that has not failed, never the one that just did, with no backoff", () => {
    const choice = new ReplicaChoice(draws(0.5, 0.9, 0));
    expect(choice.next(three)).toBe("http://b:1");
    choice.succeeded();
    expect(choice.failed("http://b:1", three)).toBe(false);
    expect(choice.next(three)).toBe("http://c:1"); // of a and c, the draw 0.9
    expect(choice.failed("http://c:1", three)).toBe(false);
    expect(choice.next(three)).toBe("http://a:1"); // the last one left, whatever the draw
  });

  it("backs off only once every replica has failed since the last session, then starts a new round", () => {
    const choice = new ReplicaChoice(() => 0);
    const tried: string[] = [];
    const backOffs: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const r = choice.next(three);
      tried.push(r);
      backOffs.push(choice.failed(r, three));
    }
    expect(backOffs).toEqual([false, false, true, false, false, true]);
    expect(tried).toEqual(["http://a:1", "http://b:1", "http://c:1", "http://a:1", "http://b:1", "http://c:1"]);
    // Each round tried every replica once, and no round began with the replica that ended the previous one.
    expect(new Set(tried.slice(0, 3)).size).toBe(3);
    expect(new Set(tried.slice(3)).size).toBe(3);
  });

  it("with one replica, every failure backs off (today's single coordinator)", () => {
    const choice = new ReplicaChoice(() => {
      throw new Error("one replica draws nothing");
    });
    expect(choice.next(["http://only:1"])).toBe("http://only:1");
    expect(choice.failed("http://only:1", ["http://only:1"])).toBe(true);
    expect(choice.next(["http://only:1"])).toBe("http://only:1");
  });

  it("a session resets the round: the replica that failed before is a candidate again", () => {
    const choice = new ReplicaChoice(() => 0);
    expect(choice.failed("http://a:1", three)).toBe(false);
    expect(choice.next(three)).toBe("http://b:1");
    choice.succeeded();
    expect(choice.next(three)).toBe("http://a:1");
  });

  it("follows a list that changes between attempts (a DNS name's records)", () => {
    const choice = new ReplicaChoice(() => 0);
    expect(choice.failed("http://a:1", three)).toBe(false);
    // a and b are gone from the records, d is new: a failed replica no longer listed does not count.
    const now = ["http://c:1", "http://d:1"];
    expect(choice.next(now)).toBe("http://c:1");
    expect(choice.failed("http://c:1", now)).toBe(false);
    expect(choice.next(now)).toBe("http://d:1");
    expect(choice.failed("http://d:1", now)).toBe(true);
    expect(() => choice.next([])).toThrow(RangeError);
  });
});
