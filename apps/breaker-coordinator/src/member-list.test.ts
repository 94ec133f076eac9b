import { describe, expect, it } from "vitest";
import { BreakerSet, createBreakerConfig } from "@breakwater/breaker";
import { Coordinator, type SessionLink } from "./coordinator.js";
import { LocalFleetState } from "./local-fleet-state.js";
import type { MemberList } from "./member-list.js";

const BREAKER = "s3:http://storage.test:9000";
const HEARTBEAT_MS = 1_000;
const T0 = 1_000_000;

/** A coordinator on a clock the test moves; each session's member lists are kept as `version addresses`. */
function harness() {
  const clock = { t: T0, now: () => clock.t };
  const breakers = new BreakerSet({ resolveConfig: () => createBreakerConfig(), random: () => 0.5 });
  const changes: MemberList[] = [];
  const coordinator = new Coordinator(new LocalFleetState(breakers), clock, HEARTBEAT_MS, {
    onMembersChange: (m) => changes.push(m),
  });
  const heard = new Map<string, string[]>();
  const show = (m: MemberList) => `${m.version} ${m.members.map((x) => x.address).join(",")}`;
  const attach = (id: string, service = "cache-store", address = `${id}:50051`) => {
    const seen: string[] = [];
    heard.set(id, seen);
    const { link, members } = coordinator.attach({ instanceId: id, service, address, breakers: [BREAKER] }, (out) => {
      if (out.kind === "members") seen.push(show(out.members));
    });
    seen.push(`snapshot ${show(members)}`);
    return link;
  };
  const at = (s: number) => `${T0 + s}`;
  return { clock, coordinator, attach, heard, changes, at };
}

describe("Coordinator members (injected clock)", () => {
  it("tells every session the live cache-stores: in the snapshot, then on each join and leave", () => {
    const { coordinator, attach, heard, at } = harness();
    attach("a");
    attach("b");
    const gw = attach("gw", "gateway", "gw:8080");
    const c = attach("c");
    expect(heard.get("a")).toEqual([
      `snapshot ${at(1)} a:50051`,
      `${at(2)} a:50051,b:50051`,
      `${at(3)} a:50051,b:50051,c:50051`,
    ]);
    expect(heard.get("b")).toEqual([`snapshot ${at(2)} a:50051,b:50051`, `${at(3)} a:50051,b:50051,c:50051`]);
    // A gateway hears the members but is not one.
    expect(heard.get("gw")).toEqual([`snapshot ${at(2)} a:50051,b:50051`, `${at(3)} a:50051,b:50051,c:50051`]);
    c.close();
    expect(heard.get("a")!.at(-1)).toBe(`${at(4)} a:50051,b:50051`);
    expect(heard.get("gw")!.at(-1)).toBe(`${at(4)} a:50051,b:50051`);
    gw.close(); // not a member: no change
    expect(coordinator.members.version).toBe(T0 + 4);
  });

  it("drops a member gone stale (3 silent heartbeats, session open) and takes it back when heard from", () => {
    const { clock, coordinator, attach, heard, changes } = harness();
    const a = attach("a");
    const b = attach("b");
    const beat = (l: SessionLink) => l.handle({ kind: "report", counts: [] });
    for (let s = 1; s <= 3; s++) {
      clock.t += HEARTBEAT_MS;
      beat(a);
      coordinator.tick();
    }
    expect(heard.get("a")!.at(-1)).toBe(`${clock.t} a:50051`);
    expect(coordinator.members.members).toEqual([{ address: "a:50051", instanceId: "a" }]);
    clock.t += 10;
    beat(b);
    expect(heard.get("a")!.at(-1)).toBe(`${clock.t} a:50051,b:50051`);
    // Dropped after 20 silent intervals (its session still open), then heard from: a member again.
    for (let s = 1; s <= 20; s++) {
      clock.t += HEARTBEAT_MS;
      beat(a);
      coordinator.tick();
    }
    expect(coordinator.instances().map((i) => i.record.instanceId)).toEqual(["a"]);
    beat(b);
    expect(coordinator.members.members.map((m) => m.address)).toEqual(["a:50051", "b:50051"]);
    // Every change got a higher version; the app heard each one.
    const versions = changes.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(new Set(versions).size).toBe(versions.length);
    expect(changes.map((m) => m.members.length)).toEqual([1, 2, 1, 2, 1, 2]);
  });

  it("lists an address once: the newest session's instance, the older one's again when the newer ends", () => {
    const { clock, coordinator, attach } = harness();
    attach("old", "cache-store", "h:1");
    clock.t += 5;
    const fresh = attach("new", "cache-store", "h:1");
    expect(coordinator.members.members).toEqual([{ address: "h:1", instanceId: "new" }]);
    fresh.close();
    expect(coordinator.members.members).toEqual([{ address: "h:1", instanceId: "old" }]);
    attach("blank", "cache-store", ""); // no address to be reached at: not a member
    expect(coordinator.members.members).toEqual([{ address: "h:1", instanceId: "old" }]);
  });

  it("starts its versions at the clock, so a restarted coordinator's stay above the ones it sent", () => {
    const first = harness();
    first.attach("a");
    first.attach("b");
    const sent = first.coordinator.members.version;
    const breakers = new BreakerSet({ resolveConfig: () => createBreakerConfig() });
    const restarted = new Coordinator(
      new LocalFleetState(breakers),
      { now: () => first.clock.t + 1_000 },
      HEARTBEAT_MS,
    );
    expect(restarted.members).toEqual({ version: first.clock.t + 1_000, members: [] });
    expect(restarted.members.version).toBeGreaterThan(sent);
  });
});
