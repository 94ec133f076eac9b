import { describe, expect, it } from "vitest";
import { clientHarness, NAME } from "./__fixtures__/client-harness.js";
import { fleetMembers, view } from "./__fixtures__/fake-transport.js";
import type { FleetMembers } from "./session-messages.js";

/** A client whose member changes are recorded as address lists with their version. */
function membersHarness() {
  const changes: string[] = [];
  const record = (m: FleetMembers) => changes.push(`v${m.version} ${m.members.map((x) => x.address).join(",")}`);
  const h = Object.assign(clientHarness(), { changes, unsubscribe: () => {} });
  h.unsubscribe = h.client.onMembersChange(record);
  return h;
}

describe("breaker client: fleet members from the coordinator", () => {
  it("takes the snapshot's members, then each change, and tells its listeners", () => {
    const h = membersHarness();
    expect(h.client.members).toBeUndefined(); // nothing known before a coordinator said
    h.attach([view(NAME, "closed", 1)], 1_000, fleetMembers(10, "a:1", "b:1"));
    expect(h.client.members).toEqual(fleetMembers(10, "a:1", "b:1"));
    h.stream.members(11, "a:1", "b:1", "c:1");
    h.stream.members(12, "a:1", "c:1");
    expect(h.client.members).toEqual(fleetMembers(12, "a:1", "c:1"));
    expect(h.changes).toEqual(["v10 a:1,b:1", "v11 a:1,b:1,c:1", "v12 a:1,c:1"]);
  });

  it("ignores a change no newer than the list it holds", () => {
    const h = membersHarness();
    h.attach([view(NAME, "closed", 1)], 1_000, fleetMembers(10, "a:1"));
    h.stream.members(10, "a:1", "b:1");
    h.stream.members(9, "z:1");
    expect(h.client.members).toEqual(fleetMembers(10, "a:1"));
    expect(h.changes).toEqual(["v10 a:1"]);
  });

  it("holds the last known members while disconnected and detached: no change because of it", () => {
    const h = membersHarness();
    h.attach([view(NAME, "closed", 1)], 1_000, fleetMembers(10, "a:1", "b:1"));
    h.stream.fail();
    h.transport.failOpen = true;
    h.time.advance(5_000);
    expect(h.client.detached).toBe(true);
    expect(h.client.members).toEqual(fleetMembers(10, "a:1", "b:1"));
    expect(h.changes).toEqual(["v10 a:1,b:1"]);
  });

  it("on return adopts the snapshot's members, whatever their version; tells listeners only of a change", () => {
    const h = membersHarness();
    h.attach([view(NAME, "closed", 1)], 1_000, fleetMembers(10, "a:1", "b:1"));
    h.stream.fail();
    h.dialBack();
    // Same list (a newer version): nothing changed for the listeners.
    h.attach([view(NAME, "closed", 1)], 1_000, fleetMembers(20, "a:1", "b:1"));
    expect(h.client.members?.version).toBe(20);
    h.stream.fail();
    h.dialBack();
    // A coordinator that lost track (an older version) still has the word: its list is the live one.
    h.attach([view(NAME, "closed", 1)], 1_000, fleetMembers(3, "b:1"));
    expect(h.client.members).toEqual(fleetMembers(3, "b:1"));
    expect(h.changes).toEqual(["v10 a:1,b:1", "v3 b:1"]);
  });

  it("keeps what it knows from a coordinator without membership; a throwing listener breaks nothing", () => {
    const h = membersHarness();
    h.client.onMembersChange(() => {
      throw new Error("listener bug");
    });
    h.attach([view(NAME, "closed", 1)], 1_000, fleetMembers(10, "a:1"));
    h.stream.fail();
    h.dialBack();
    h.attach(); // no members in the snapshot
    expect(h.client.members).toEqual(fleetMembers(10, "a:1"));
    h.unsubscribe();
    h.stream.members(11, "a:1", "b:1");
    expect(h.client.members).toEqual(fleetMembers(11, "a:1", "b:1"));
    expect(h.changes).toEqual(["v10 a:1"]);
  });
});
