import { describe, expect, it } from "vitest";
import type { FleetMembers } from "@breakwater/breaker/session";
import { createMembership, type MembersSource } from "./membership.js";

/** A breaker client as far as membership sees it: the test tells the coordinator's lists. */
class FakeMembersSource implements MembersSource {
  members: FleetMembers | undefined;
  readonly listeners = new Set<(members: FleetMembers) => void>();

  onMembersChange(listener: (members: FleetMembers) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The coordinator tells a new list (the client's change event). */
  tell(version: number, ...addresses: string[]): void {
    this.members = { version, members: addresses.map((address) => ({ address, instanceId: `id-${address}` })) };
    for (const l of this.listeners) l(this.members);
  }
}

describe("membership", () => {
  it("names static members and self as host:port, each once, sorted", () => {
    const m = createMembership({
      static: ["http://b:50051", "a:50051/", "http://b:50051"],
      self: "c:50051",
    });
    expect(m.members()).toEqual(["a:50051", "b:50051", "c:50051"]);
  });

  it("adds the coordinator's live members to the static ones and tells listeners of each change", () => {
    const coordinator = new FakeMembersSource();
    const m = createMembership({ static: ["http://a:1"], fromCoordinator: coordinator });
    const seen: (readonly string[])[] = [];
    m.onChange((names) => seen.push(names));
    expect(m.members()).toEqual(["a:1"]);
    coordinator.tell(10, "a:1", "b:1");
    coordinator.tell(11, "a:1", "b:1", "c:1");
    expect(m.members()).toEqual(["a:1", "b:1", "c:1"]);
    // A live member leaves; a static one stays whatever the coordinator says.
    coordinator.tell(12, "c:1");
    expect(m.members()).toEqual(["a:1", "c:1"]);
    expect(seen).toEqual([
      ["a:1", "b:1"],
      ["a:1", "b:1", "c:1"],
      ["a:1", "c:1"],
    ]);
  });

  it("starts from what the client already knows, and tells nothing when the set is the same", () => {
    const coordinator = new FakeMembersSource();
    coordinator.tell(10, "b:1", "a:1");
    const m = createMembership({ static: [], self: "a:1", fromCoordinator: coordinator });
    const seen: (readonly string[])[] = [];
    m.onChange((names) => seen.push(names));
    expect(m.members()).toEqual(["a:1", "b:1"]);
    coordinator.tell(11, "a:1", "b:1"); // e.g. a replica restarted at the same address
    coordinator.tell(12, "b:1"); // self is a member whatever the coordinator says
    expect(seen).toEqual([]);
  });

  it("stops following on close; a throwing listener keeps no change from the others", () => {
    const coordinator = new FakeMembersSource();
    const m = createMembership({ static: ["a:1"], fromCoordinator: coordinator });
    const seen: (readonly string[])[] = [];
    m.onChange(() => {
      throw new Error("listener bug");
    });
    const unsubscribe = m.onChange((names) => seen.push(names));
    coordinator.tell(10, "a:1", "b:1");
    unsubscribe();
    coordinator.tell(11, "a:1", "b:1", "c:1");
    expect(seen).toEqual([["a:1", "b:1"]]);
    m.close();
    expect(coordinator.listeners.size).toBe(0);
    coordinator.tell(12, "a:1");
    expect(m.members()).toEqual(["a:1", "b:1", "c:1"]);
  });

  it("rejects an empty name with a RangeError naming it", () => {
    expect(() => createMembership({ static: ["a:1", " "] })).toThrow(
      new RangeError('a member must be a URL or host:port, got " "'),
    );
  });
});
