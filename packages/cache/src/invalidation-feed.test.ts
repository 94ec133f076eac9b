import { describe, expect, it } from "vitest";
import { createInvalidationFeed, type Invalidation } from "./invalidation-feed.js";

describe("invalidation feed", () => {
  it("delivers every invalidation to every listener with a growing sequence", () => {
    const feed = createInvalidationFeed();
    const a: Invalidation[] = [];
    const b: Invalidation[] = [];
    const stopA = feed.subscribe((i) => a.push(i));
    feed.subscribe((i) => b.push(i));
    feed.publish({ bucket: "b", key: "k", prefix: false, cause: "put" });
    stopA();
    feed.publish({ bucket: "b", key: "img/", prefix: true, cause: "purge" });
    expect(a.map((i) => i.sequence)).toEqual([1]);
    expect(b).toEqual([
      { bucket: "b", key: "k", prefix: false, cause: "put", sequence: 1 },
      { bucket: "b", key: "img/", prefix: true, cause: "purge", sequence: 2 },
    ]);
    expect(feed.sequence).toBe(2);
  });

  it("isolates a throwing listener", () => {
    const errors: unknown[] = [];
    const feed = createInvalidationFeed({ onListenerError: (e) => errors.push(e) });
    const got: number[] = [];
    feed.subscribe(() => {
      throw new Error("bad subscriber");
    });
    feed.subscribe((i) => got.push(i.sequence));
    expect(() => feed.publish({ bucket: "b", key: "k", prefix: false, cause: "delete" })).not.toThrow();
    expect(got).toEqual([1]);
    expect(errors).toHaveLength(1);
  });

  it("lets a listener unsubscribe while being called", () => {
    const feed = createInvalidationFeed();
    const got: number[] = [];
    const stop = feed.subscribe((i) => {
      got.push(i.sequence);
      stop();
    });
    feed.publish({ bucket: "b", key: "k", prefix: false, cause: "purge" });
    feed.publish({ bucket: "b", key: "k", prefix: false, cause: "purge" });
    expect(got).toEqual([1]);
  });
});
