import { describe, expect, it } from "vitest";
import { createOwnerOrder } from "./owner-order.js";

const KEYS = 100_000;
const replicas = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:50051`);
const keyOf = (i: number): [string, string] => ["photos", `user-${i % 977}/album-${i}/img-${(i * 7919) % 100_003}.jpg`];

/** How many of KEYS keys each member owns. */
function shares(members: string[]): Map<string, number> {
  const own = createOwnerOrder(members);
  const counts = new Map(members.map((m) => [m, 0]));
  for (let i = 0; i < KEYS; i++) {
    const o = own.owner(...keyOf(i));
    counts.set(o, counts.get(o)! + 1);
  }
  return counts;
}

describe("createOwnerOrder", () => {
  it.each([2, 3, 4, 5, 8])("spreads 100k keys over %i members within 3 %% of an equal share", (n) => {
    const counts = shares(replicas(n));
    const fair = KEYS / n;
    for (const c of counts.values()) expect(Math.abs(c - fair) / fair).toBeLessThan(0.03);
  });

  it("moves about 1/N of the keys when one of N members joins or leaves, and only to or from it", () => {
    for (const n of [3, 4, 6]) {
      const before = createOwnerOrder(replicas(n));
      const joined = createOwnerOrder(replicas(n + 1));
      const newcomer = replicas(n + 1).at(-1)!;
      let moved = 0;
      for (let i = 0; i < KEYS; i++) {
        const [b, k] = keyOf(i);
        const was = before.owner(b, k);
        const now = joined.owner(b, k);
        if (was !== now) {
          moved++;
          expect(now).toBe(newcomer); // a join only takes keys, it never reshuffles the others
        }
      }
      expect(Math.abs(moved / KEYS - 1 / (n + 1))).toBeLessThan(0.01);
      // The reverse: removing it gives back exactly those keys.
      let returned = 0;
      for (let i = 0; i < KEYS; i++) if (joined.owner(...keyOf(i)) !== before.owner(...keyOf(i))) returned++;
      expect(returned).toBe(moved);
    }
  });

  it("orders every member once, owner first, and a member's departure promotes the next in order", () => {
    const all = replicas(4);
    const own = createOwnerOrder(all);
    for (let i = 0; i < 1_000; i++) {
      const [b, k] = keyOf(i);
      const order = own.order(b, k);
      expect([...order].sort()).toEqual([...all].sort());
      expect(order[0]).toBe(own.owner(b, k));
      const without = createOwnerOrder(all.filter((m) => m !== order[0]));
      expect(without.order(b, k)).toEqual(order.slice(1));
    }
  });

  it("agrees across instances and member order: the owner depends only on the names", () => {
    const a = createOwnerOrder(["b:2", "a:1", "c:3"]);
    const b = createOwnerOrder(["c:3", "a:1", "b:2", "a:1"]);
    expect(b.members).toEqual(["c:3", "a:1", "b:2"]);
    for (let i = 0; i < 1_000; i++) expect(a.order(...keyOf(i))).toEqual(b.order(...keyOf(i)));
    // Pinned values: a change of hash would silently reshuffle a running fleet's keys.
    expect(a.owner("default", "hello.txt")).toMatchInlineSnapshot(`"b:2"`);
    expect(a.order("photos", "2026/12/03/a.jpg")).toMatchInlineSnapshot(`
      [
        "b:2",
        "a:1",
        "c:3",
      ]
    `);
  });

  it("has no owner without members", () => {
    expect(() => createOwnerOrder([]).owner("b", "k")).toThrow(RangeError);
    expect(createOwnerOrder([]).order("b", "k")).toEqual([]);
  });
});
