/**
 * Live cache-store membership on real sessions with a real coordinator
 * process (issue 12 "Membership"): every session hears the members in its
 * snapshot and on every join and leave, with a version that only grows; a
 * gateway hears them but is not one; a silent member leaves by the liveness
 * rules; a breaker client holds the last list while detached.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { breakerV1 } from "@breakwater/proto";
import { createBreakerConfig } from "@breakwater/breaker";
import { createBreakerClient } from "@breakwater/breaker/session";
import { coordinatorTransport, createMembership } from "@breakwater/fleet-kit";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { eventually, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import { SimInstance } from "./__fixtures__/sim-instance.js";

const BREAKER = "s3:http://storage.test:9000";
const addr = (id: string) => `${id}:50051`;

describe("coordinator members", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  /** A coordinator with `defaults` of BREAKER_CONFIG given as "key: value, key: value". */
  async function start(
    defaults: string,
  ): Promise<{ p: ServiceProcess; ops: GrpcClient<typeof breakerV1.BreakerCoordinator> }> {
    const dir = mkdtempSync(join(tmpdir(), "bw-coord-members-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "breakers.yaml"), `defaults:\n  ${defaults.replaceAll(", ", "\n  ")}\n`);
    const p = await startServiceProcess("breaker-coordinator", {
      env: { BREAKER_CONFIG: join(dir, "breakers.yaml"), COORDINATOR_STATE_FILE: join(dir, "state.json") },
    });
    cleanup.push(() => p.stop("SIGKILL"));
    const ops = createGrpcClient(breakerV1.BreakerCoordinator, p.grpcAddress);
    cleanup.push(() => ops.close());
    return { p, ops };
  }

  function sim(ops: GrpcClient<typeof breakerV1.BreakerCoordinator>, id: string, service = "cache-store") {
    const i = new SimInstance(ops, id, { breakers: [BREAKER], service, address: addr(id) });
    cleanup.push(() => i.end());
    return i;
  }

  const heard = (i: SimInstance, ...ids: string[]) => {
    const got = i.addresses();
    return got !== undefined && got.join() === ids.map(addr).join();
  };

  it("tells every session the live cache-stores on join and leave, versions grow; no gateway listed", async () => {
    // Long heartbeats: nothing goes stale here, every change is a session opening or ending.
    const { ops } = await start("heartbeat_interval: 10s, detach_after: 30s");
    const a = sim(ops, "a");
    await eventually(() => heard(a, "a"), { what: "a hears [a]" });
    const b = sim(ops, "b");
    await eventually(() => heard(a, "a", "b") && heard(b, "a", "b"), { what: "a and b hear [a, b]" });
    const gw = sim(ops, "gw", "gateway");
    await eventually(() => heard(gw, "a", "b"), { what: "the gateway hears [a, b] in its snapshot" });
    expect(gw.received[0]?.message.case).toBe("snapshot");
    const two = a.members().at(-1)!.version;

    const c = sim(ops, "c");
    const fleet = [a, b, c, gw];
    await eventually(() => fleet.every((i) => heard(i, "a", "b", "c")), { what: "every session hears [a, b, c]" });
    const three = a.members().at(-1)!.version;
    expect(three).toBeGreaterThan(two);
    expect(fleet.map((i) => i.members().at(-1)!.version)).toEqual([three, three, three, three]);

    // ListInstances shows each instance's address (what the members are named by).
    const listed = (await ops.listInstances({})).instances.map((i) => `${i.instanceId} ${i.service} ${i.address}`);
    expect(listed.sort()).toEqual([
      "a cache-store a:50051",
      "b cache-store b:50051",
      "c cache-store c:50051",
      "gw gateway gw:50051",
    ]);

    // b dies (its stream dropped without a goodbye): the others hear the list without it.
    b.kill();
    const rest = [a, c, gw];
    await eventually(() => rest.every((i) => heard(i, "a", "c")), { what: "a, c and the gateway hear [a, c]" });
    const afterKill = a.members().at(-1)!.version;
    expect(afterKill).toBeGreaterThan(three);

    // A reconnect (c's session ends, a new one opens) gets the current members in its snapshot.
    c.end();
    await c.done;
    await eventually(() => heard(a, "a"), { what: "a hears [a] once c's session ended" });
    const c2 = sim(ops, "c");
    await eventually(() => c2.members().length > 0, { what: "c's new snapshot" });
    expect(c2.received[0]?.message.case).toBe("snapshot");
    expect(c2.members()[0]!.addresses).toEqual([addr("a"), addr("c")]);
    await eventually(() => rest.every((i) => i === c || heard(i, "a", "c")), { what: "a and the gateway hear [a, c]" });

    // Each session heard versions that only grew, and no list twice.
    for (const i of [a, gw, c2]) {
      const versions = i.members().map((m) => m.version);
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
      expect(new Set(versions).size).toBe(versions.length);
    }
  });

  it("drops a member silent for 3 heartbeat intervals (session open) and lists it again when heard from", async () => {
    const { ops } = await start("heartbeat_interval: 100ms");
    const gw = sim(ops, "gw", "gateway");
    const silent = sim(ops, "silent");
    // The lists in order, not the newest one: silent goes stale again 3 intervals after each heartbeat.
    const heardInOrder = (...lists: string[][]) => {
      let at = 0;
      for (const m of gw.members()) if (at < lists.length && m.addresses.join() === lists[at]!.map(addr).join()) at++;
      return at === lists.length;
    };
    await eventually(() => heardInOrder(["silent"]), { what: "the gateway hears [silent]" });
    await eventually(() => heardInOrder(["silent"], []), { what: "the gateway hears [] once silent is stale" });
    expect(silent.closed).toBe(false);
    silent.send({ case: "report", value: create(breakerV1.OutcomeReportSchema, {}) });
    await eventually(() => heardInOrder(["silent"], [], ["silent"]), {
      what: "the gateway hears [silent] after its heartbeat",
    });
  });

  it("a breaker client surfaces the members, and holds the last list while detached", async () => {
    const { p, ops } = await start("heartbeat_interval: 10s, detach_after: 30s");
    sim(ops, "a");
    const client = createBreakerClient({
      instanceId: "gw-client",
      service: "gateway",
      address: "gw:8080",
      breakers: [BREAKER],
      config: () => createBreakerConfig({ heartbeatIntervalMs: 100, detachAfterMs: 300 }),
      transport: coordinatorTransport(p.grpcAddress),
    });
    cleanup.push(() => client.close());
    const membership = createMembership({ static: ["http://static:50051"], fromCoordinator: client });
    const changes: string[][] = [];
    membership.onChange((names) => changes.push([...names]));
    client.start();
    await eventually(() => membership.members().includes(addr("a")), { what: "the client hears [a]" });
    sim(ops, "b");
    await eventually(() => membership.members().includes(addr("b")), { what: "the client hears [a, b]" });
    expect(membership.members()).toEqual([addr("a"), addr("b"), "static:50051"]);
    expect(client.members?.members.map((m) => m.address)).toEqual([addr("a"), addr("b")]);

    // The coordinator goes away: the client detaches, the members it knew hold, no change is told.
    await p.stop("SIGKILL");
    await eventually(() => client.detached, { what: "the client detached" });
    expect(membership.members()).toEqual([addr("a"), addr("b"), "static:50051"]);
    expect(changes).toEqual([
      [addr("a"), "static:50051"],
      [addr("a"), addr("b"), "static:50051"],
    ]);
  });
});
