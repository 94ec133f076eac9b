import { describe, expect, it } from "vitest";
import { BreakerSet } from "./breaker-set.js";
import { isBreakerSnapshotError } from "./breaker-snapshot-error.js";
import type { BreakerTransition } from "./breaker-state.js";
import { parseBreakerConfigFile } from "./config-file.js";

const configs = parseBreakerConfigFile(`
backends:
  "s3:*": { consecutive_failures: 3 }
`);

function createSet(): BreakerSet {
  return new BreakerSet({ resolveConfig: (name) => configs.resolveConfig(name), random: () => 0.5 });
}

describe("BreakerSet", () => {
  it("creates each breaker once, with the config resolved for its name", () => {
    const set = createSet();
    const s3 = set.ensure("s3:a", 0);
    expect(set.ensure("s3:a", 5)).toBe(s3);
    expect(s3.config.consecutiveFailures).toBe(3);
    expect(set.ensure("cache-store:b", 0).config.consecutiveFailures).toBe(5);
    expect(set.list().map((m) => m.name)).toEqual(["cache-store:b", "s3:a"]);
    expect(set.size).toBe(2);
    expect(set.delete("s3:a")).toBe(true);
    expect(set.get("s3:a")).toBeUndefined();
  });

  it("streams every breaker's transitions to every subscriber until it unsubscribes", () => {
    const set = createSet();
    const seen: BreakerTransition[] = [];
    const stop = set.onTransition((t) => seen.push(t));
    for (let i = 0; i < 3; i++) set.ensure("s3:a", 0).recordOutcome("i", false, false, 0);
    set.ensure("s3:b", 0).force("open", { reason: "x", ttlMs: 1_000 }, 0);
    expect(seen.map((t) => [t.name, t.to])).toEqual([
      ["s3:a", "open"],
      ["s3:b", "open"],
    ]);
    expect(set.nextChangeAt()).toBe(1_000);
    stop();
    set.tick(1_000);
    expect(seen).toHaveLength(2);
    expect(set.get("s3:b")?.state).toBe("closed");
  });

  it("round-trips every breaker through the snapshot file", () => {
    const set = createSet();
    for (let i = 0; i < 3; i++) set.ensure("s3:open", 0).recordOutcome("i", false, false, 0);
    set.ensure("s3:forced", 0).force("closed", { reason: "pinned" }, 0);
    set.ensure("s3:quiet", 0).recordOutcome("i", true, false, 0);
    const text = JSON.stringify(set.toJSON(10_000));

    const back = createSet();
    const seen: BreakerTransition[] = [];
    back.onTransition((t) => seen.push(t));
    back.restore(JSON.parse(text), 10_000);
    expect(back.toJSON(10_000)).toEqual(JSON.parse(text));
    expect(back.get("s3:open")?.view(10_000)).toMatchObject({ state: "open", openUntil: 30_000, version: 1 });
    expect(back.get("s3:forced")?.view(10_000)).toMatchObject({ state: "closed", forced: true });
    expect(seen).toEqual([]);
    back.tick(30_000);
    expect(seen.map((t) => [t.name, t.to, t.version])).toEqual([["s3:open", "half-open", 2]]);
  });

  it("keeps a breaker that is newer than the snapshot's, so versions never go back", () => {
    const old = createSet();
    old.ensure("s3:a", 0);
    const snapshot = JSON.parse(JSON.stringify(old.toJSON(0)));
    const set = createSet();
    const current = set.ensure("s3:a", 0);
    current.reset(1);
    set.restore(snapshot, 2);
    expect(set.get("s3:a")).toBe(current);
    expect(current.version).toBe(1);
  });

  it("refuses a malformed snapshot and changes nothing", () => {
    const set = createSet();
    set.ensure("s3:a", 0);
    const attempt = (json: unknown): string => {
      try {
        set.restore(json, 0);
        return "restored";
      } catch (e) {
        return isBreakerSnapshotError(e) ? e.message : String(e);
      }
    };
    expect(attempt({ format: 2, breakers: [] })).toBe("snapshot: must be an object with format 1");
    expect(attempt({ format: 1, breakers: {} })).toBe("snapshot.breakers: must be a list");
    const good = createSet().ensure("s3:b", 0).toJSON(0);
    expect(attempt({ format: 1, breakers: [good, { ...good, since: "yesterday" }] })).toBe(
      'snapshot.breakers[1].since: must be a time in ms, got "yesterday"',
    );
    expect(set.list().map((m) => m.name)).toEqual(["s3:a"]);
  });
});
