import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { breakerV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { createReflectionClient } from "@breakwater/server-kit/testing";
import { eventually, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import { SimInstance } from "./__fixtures__/sim-instance.js";

const { BreakerState } = breakerV1;
const BREAKER = "s3:http://storage.test:9000";
const TOKEN = "test-admin-token";

describe("coordinator with 5 instances on real sessions", () => {
  let dir: string;
  let coordinator: ServiceProcess;
  let ops: GrpcClient<typeof breakerV1.BreakerCoordinator>;
  let fleet: SimInstance[];
  const admin = { headers: { authorization: `Bearer ${TOKEN}` } };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-coord-"));
    writeFileSync(
      join(dir, "breakers.yaml"),
      "defaults:\n  open_timeout: 300ms\n  max_open_timeout: 2s\n" +
        "  open_jitter: 0\n  probe_lease: 2s\n  heartbeat_interval: 200ms\n",
    );
    coordinator = await startServiceProcess("breaker-coordinator", {
      env: {
        BREAKER_CONFIG: join(dir, "breakers.yaml"),
        COORDINATOR_STATE_FILE: join(dir, "state.json"),
        BW_ADMIN_TOKEN: TOKEN,
      },
    });
    ops = createGrpcClient(breakerV1.BreakerCoordinator, coordinator.grpcAddress);
    fleet = ["i1", "i2", "i3", "i4", "i5"].map((id) => new SimInstance(ops, id, { breakers: [BREAKER] }));
  });

  it("sends every instance a snapshot first", async () => {
    await eventually(() => fleet.every((i) => i.state() === BreakerState.CLOSED), {
      what: "a closed snapshot on every instance",
    });
    expect(fleet.every((i) => i.received[0]?.message.case === "snapshot")).toBe(true);
  });
  afterAll(async () => {
    fleet?.forEach((i) => i.end());
    ops?.close();
    await coordinator?.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("does not open the fleet breaker for one failing instance (quorum), and shows it locally open", async () => {
    for (const i of fleet.slice(1)) i.report(20, 0);
    fleet[0]!.report(0, 20);
    const i1 = async () => (await ops.listInstances({})).instances.find((i) => i.instanceId === "i1");
    await eventually(async () => (await i1())?.locallyOpen.includes(BREAKER) === true, { what: "i1 locally open" });
    expect((await i1())?.locallyOpen).toEqual([BREAKER]);
    expect((await ops.getBreaker({ name: BREAKER })).breaker?.state).toBe(BreakerState.CLOSED);
    expect(fleet.every((i) => i.state() === BreakerState.CLOSED)).toBe(true);
    await ops.resetBreaker({ name: BREAKER }, admin);
  });

  it("opens when 3 instances report failures, and every instance receives the transition", async () => {
    for (const i of fleet.slice(0, 3)) i.report(0, 6);
    await eventually(() => fleet.every((i) => i.state() === BreakerState.OPEN), { what: "open on every instance" });
    const b = (await ops.getBreaker({ name: BREAKER })).breaker!;
    expect(b.contributingInstances).toEqual(["i1", "i2", "i3"]);
  });

  it("grants at most one probe fleet-wide in half-open, and closes after the successes", async () => {
    const state = async () => (await ops.getBreaker({ name: BREAKER })).breaker?.state;
    await eventually(async () => (await state()) === BreakerState.HALF_OPEN, { what: "half-open" });
    for (const i of fleet)
      i.send({ case: "probeRequest", value: create(breakerV1.ProbeRequestSchema, { breaker: BREAKER }) });
    await eventually(() => fleet.reduce((n, i) => n + i.grants().length, 0) === 5, { what: "5 probe answers" });
    const granted = fleet.flatMap((i) =>
      i
        .grants()
        .filter((g) => g.granted)
        .map((g) => ({ i, g })),
    );
    expect(granted).toHaveLength(1);
    // Three successful probes in turn close it (success_threshold 3).
    let holder = granted[0]!;
    for (let n = 0; n < 3; n++) {
      holder.i.send({
        case: "probeResult",
        value: create(breakerV1.ProbeResultSchema, { breaker: BREAKER, permitId: holder.g.permitId, success: true }),
      });
      if (n === 2) break;
      const before = holder.i.grants().length;
      holder.i.send({ case: "probeRequest", value: create(breakerV1.ProbeRequestSchema, { breaker: BREAKER }) });
      await eventually(() => holder.i.grants().length === before + 1, { what: "the next probe answer" });
      const g = holder.i.grants().at(-1)!;
      expect(g.granted).toBe(true);
      holder = { i: holder.i, g };
    }
    await eventually(() => fleet.every((i) => i.state() === BreakerState.CLOSED), { what: "closed on every instance" });
  });

  it("refuses mutating RPCs without the admin token (UNAUTHENTICATED)", async () => {
    const err = (await ops
      .forceBreaker({ name: BREAKER, mode: breakerV1.ForceMode.OPEN })
      .catch((e: unknown) => e)) as ConnectError;
    expect(err.code).toBe(Code.Unauthenticated);
    const wrong = (await ops
      .resetBreaker({ name: BREAKER }, { headers: { authorization: "Bearer nope" } })
      .catch((e: unknown) => e)) as ConnectError;
    expect(wrong.code).toBe(Code.Unauthenticated);
  });

  it("answers every ops RPC through server reflection alone, JSON in and out (as grpcurl)", async () => {
    const r = createReflectionClient(coordinator.grpcAddress);
    const svc = "breakwater.breaker.v1.BreakerCoordinator";
    try {
      const transitions: unknown[] = [];
      const stopWatch = await r.watchJson(svc, "WatchBreakers", { names: [BREAKER] }, (m) => transitions.push(m));
      const forced = (await r.invokeJson(
        svc,
        "ForceBreaker",
        { name: BREAKER, mode: "FORCE_MODE_OPEN", reason: "maintenance", ttl: "600s" },
        admin.headers,
      )) as {
        breaker: { state: string; override: { reason: string } };
      };
      expect(forced.breaker.state).toBe("BREAKER_STATE_OPEN");
      expect(forced.breaker.override.reason).toBe("maintenance");
      const got = (await r.invokeJson(svc, "GetBreaker", { name: BREAKER })) as {
        breaker: { name: string; version: string };
      };
      expect(got.breaker.name).toBe(BREAKER);
      const list = (await r.invokeJson(svc, "ListBreakers", {})) as { breakers: { name: string }[] };
      expect(list.breakers.map((b) => b.name)).toContain(BREAKER);
      const instances = (await r.invokeJson(svc, "ListInstances", {})) as {
        instances: { instanceId: string; status: string }[];
      };
      expect(instances.instances.map((i) => i.instanceId).sort()).toEqual(["i1", "i2", "i3", "i4", "i5"]);
      expect(instances.instances.every((i) => i.status === "INSTANCE_STATUS_LIVE")).toBe(true);
      const reset = (await r.invokeJson(svc, "ResetBreaker", { name: BREAKER }, admin.headers)) as {
        breaker: { state: string };
      };
      expect(reset.breaker.state).toBe("BREAKER_STATE_CLOSED");
      await eventually(() => transitions.length >= 2, { what: "2 watched transitions" });
      expect(transitions[0]).toMatchObject({
        transition: { breaker: { name: BREAKER, state: "BREAKER_STATE_OPEN", forced: true } },
      });
      stopWatch();
      const missing = await r.invokeJson(svc, "GetBreaker", { name: "nope" }).catch((e: unknown) => e);
      expect((missing as ConnectError).code).toBe(Code.NotFound);
    } finally {
      r.close();
    }
  });
});

describe("coordinator restart", () => {
  it("keeps a forced-open breaker forced open after SIGKILL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bw-coord-"));
    const env = { COORDINATOR_STATE_FILE: join(dir, "state.json") };
    try {
      const first = await startServiceProcess("breaker-coordinator", { env });
      const ops = createGrpcClient(breakerV1.BreakerCoordinator, first.grpcAddress);
      await ops.forceBreaker({
        name: BREAKER,
        mode: breakerV1.ForceMode.OPEN,
        reason: "storage migration",
        ttl: { seconds: 3600n },
      });
      ops.close();
      expect(await first.stop("SIGKILL")).toBe("SIGKILL");

      const second = await startServiceProcess("breaker-coordinator", { env });
      const ops2 = createGrpcClient(breakerV1.BreakerCoordinator, second.grpcAddress);
      const b = (await ops2.getBreaker({ name: BREAKER })).breaker!;
      expect(b.state).toBe(BreakerState.OPEN);
      expect(b.override?.reason).toBe("storage migration");
      expect(Number(b.override?.expiresAt?.seconds) * 1000).toBeGreaterThan(Date.now() + 3_500_000);
      ops2.close();
      await second.stop("SIGKILL");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sets a corrupt state file aside and starts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bw-coord-"));
    writeFileSync(join(dir, "state.json"), '{"format":1,"breakers":[{"na');
    try {
      const p = await startServiceProcess("breaker-coordinator", {
        env: { COORDINATOR_STATE_FILE: join(dir, "state.json") },
      });
      expect(p.output.join("\n")).toContain("set aside");
      await p.stop("SIGKILL");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
