import { describe, expect, it } from "vitest";
import {
  BreakerMachine,
  createBreakerConfig,
  isBreakerSnapshotError,
  type BreakerTransition,
} from "@breakwater/breaker";
import { decodeBreakerRecord, encodeBreakerRecord, nextChangeOfRecord, viewOfRecord } from "./breaker-record.js";

const NAME = "s3:http://storage.test:9000";
const config = createBreakerConfig({ openJitter: 0, openTimeoutMs: 30_000 });

/** A machine driven on a clock the test moves, its transitions kept. */
function machineAt(t0: number) {
  const transitions: BreakerTransition[] = [];
  const m = new BreakerMachine({ name: NAME, config, random: () => 0.5, onTransition: (t) => transitions.push(t) }, t0);
  return { m, transitions };
}

describe("breaker records in etcd (injected clock)", () => {
  it("round-trips a forced-open machine with its transitions, and shows what it commits to", () => {
    const t0 = 5_000_000;
    const { m, transitions } = machineAt(t0);
    m.force("open", { reason: "maintenance", ttlMs: 60_000 }, t0 + 10);
    const record = { format: 1 as const, machine: m.toJSON(t0 + 20), windowFrom: t0, transitions };
    const back = decodeBreakerRecord(encodeBreakerRecord(record));
    expect(back).toEqual(record);
    expect(viewOfRecord(back)).toEqual({ name: NAME, state: "open", version: 1, openUntil: t0 + 60_010, forced: true });
    expect(nextChangeOfRecord(back)).toBe(t0 + 60_010);
    // Restored past the ttl, the machine lifts the override and announces version 2.
    const later: BreakerTransition[] = [];
    const restored = BreakerMachine.restore(back.machine, { config, onTransition: (t) => later.push(t) }, t0 + 70_000);
    expect(restored.version).toBe(2);
    expect(later.map((t) => [t.version, t.to, t.forced])).toEqual([[2, "closed", false]]);
  });

  it("shows an automatically open breaker's open-until, and none for a closed one", () => {
    const t0 = 6_000_000;
    const { m } = machineAt(t0);
    const closed = { format: 1 as const, machine: m.toJSON(t0), windowFrom: 0, transitions: [] };
    expect(viewOfRecord(closed)).toMatchObject({ state: "closed", version: 0, openUntil: undefined, forced: false });
    expect(nextChangeOfRecord(closed)).toBeUndefined();
    for (const id of ["a", "b", "c"]) m.record(id, { successes: 0, failures: 10 }, t0 + 1);
    const open = { format: 1 as const, machine: m.toJSON(t0 + 2), windowFrom: 0, transitions: [] };
    expect(viewOfRecord(open)).toMatchObject({ state: "open", version: 1, openUntil: t0 + 1 + 30_000 });
  });

  it("rejects a malformed record naming the bad value", () => {
    let err: unknown;
    try {
      decodeBreakerRecord(JSON.stringify({ format: 1, machine: {}, windowFrom: 0, transitions: [] }));
    } catch (e) {
      err = e;
    }
    expect(isBreakerSnapshotError(err)).toBe(true);
    expect(String(err)).toContain("record.machine.name");
    expect(() => decodeBreakerRecord(JSON.stringify({ format: 2 }))).toThrow(/record.format/);
    const t = {
      name: NAME,
      from: "closed",
      to: "sideways",
      state: "open",
      version: 1,
      forced: false,
      reason: "",
      at: 1,
    };
    const { m } = machineAt(1);
    const bad = JSON.stringify({ format: 1, machine: m.toJSON(1), windowFrom: 0, transitions: [t] });
    expect(() => decodeBreakerRecord(bad)).toThrow(/record.transitions\[0\].to/);
  });
});
