/**
 * The coordinator's state file with a real process: automatic states survive
 * SIGKILL, and a state file that cannot be written does not stop the
 * coordinator, which says so and writes again once it can.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { breakerV1, healthV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { eventually, scrapeSample, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import { SimInstance } from "./__fixtures__/sim-instance.js";

const { BreakerState, ForceMode } = breakerV1;
const BREAKER = "s3:http://storage.test:9000";
// A long open time: the breaker is still open after a restart however slow the machine.
const YAML = "defaults:\n  open_timeout: 60s\n  max_open_timeout: 120s\n  open_jitter: 0\n  heartbeat_interval: 1s\n";

/** What the state file holds for one breaker, if anything. */
function saved(
  file: string,
  name: string,
): { version: number; auto: { kind: string; openUntil?: number } } | undefined {
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, "utf8")) as {
    breakers: { name: string; version: number; auto: { kind: string } }[];
  };
  return state.breakers.find((b) => b.name === name);
}

/** The process's JSON log lines with this message. */
function logged(p: ServiceProcess, msg: string): { level: number; msg: string }[] {
  return p.output.flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { level: number; msg: string };
      return entry.msg === msg ? [entry] : [];
    } catch {
      return [];
    }
  });
}

const ms = (t: { seconds: bigint; nanos: number } | undefined) =>
  t === undefined ? undefined : Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);

describe("coordinator state file", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function start(env: Record<string, string>) {
    const p = await startServiceProcess("breaker-coordinator", { env });
    const ops = createGrpcClient(breakerV1.BreakerCoordinator, p.grpcAddress);
    cleanup.push(
      () => p.stop("SIGKILL"),
      () => ops.close(),
    );
    return { p, ops };
  }

  /** Two instances fail together: a quorum opens the fleet breaker on its own (no force). */
  async function openByFailures(ops: GrpcClient<typeof breakerV1.BreakerCoordinator>): Promise<SimInstance[]> {
    const fleet = ["a", "b"].map((id) => new SimInstance(ops, id, { breakers: [BREAKER] }));
    cleanup.push(() => fleet.forEach((i) => i.end()));
    await eventually(() => fleet.every((i) => i.state() === BreakerState.CLOSED), { what: "snapshots" });
    for (const i of fleet) i.report(0, 6);
    await eventually(() => fleet.every((i) => i.state() === BreakerState.OPEN), { what: "opened by failures" });
    return fleet;
  }

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "bw-coord-state-"));
    writeFileSync(join(dir, "breakers.yaml"), YAML);
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it("keeps a breaker opened by failures (not forced) open after SIGKILL: same version, same open-until", async () => {
    const dir = tempDir();
    const file = join(dir, "state.json");
    const env = { BREAKER_CONFIG: join(dir, "breakers.yaml"), COORDINATOR_STATE_FILE: file };
    const first = await start(env);
    await openByFailures(first.ops);
    const before = (await first.ops.getBreaker({ name: BREAKER })).breaker!;
    expect(before.override).toBeUndefined();
    // Saved in the background after the transition: wait until the file has it, then kill without warning.
    await eventually(() => saved(file, BREAKER)?.auto.kind === "open", { what: "the open breaker on disk" });
    expect(await first.p.stop("SIGKILL")).toBe("SIGKILL");

    const second = await start(env);
    const after = (await second.ops.getBreaker({ name: BREAKER })).breaker!;
    expect(after.state).toBe(BreakerState.OPEN);
    expect(after.version).toBe(before.version);
    expect(ms(after.openUntil)).toBe(ms(before.openUntil));
    expect(after.override).toBeUndefined();
    expect(after.reason).toBe(before.reason);
  });

  it("serves on while the state cannot be written, says so, and writes it again once it can", async () => {
    const dir = tempDir();
    // A path under a regular file fails with ENOTDIR even for root (chmod would not stop root).
    const stateDir = join(dir, "state");
    const file = join(stateDir, "state.json");
    const env = { BREAKER_CONFIG: join(dir, "breakers.yaml"), COORDINATOR_STATE_FILE: file };
    const { p, ops } = await start(env);
    writeFileSync(stateDir, "a file where the state directory should be");
    const failures = () => scrapeSample(p.httpUrl, "coordinator_state_write_failures_total");
    expect(await failures()).toBe(0);

    const fleet = await openByFailures(ops);
    await eventually(async () => ((await failures()) ?? 0) >= 1, { what: "a failed save counted" });
    const saveFailed = "saving the state failed: serving on, the file is behind until a save works";
    // The count goes up just before the line is written: the line may still be in the pipe.
    await eventually(() => logged(p, saveFailed).length >= 1, { what: "the failed save logged" });
    const errors = logged(p, saveFailed);
    expect(errors.map((e) => e.level)).toEqual([50]); // once, at error

    // Still serving: ops RPCs, sessions, health.
    expect((await ops.getBreaker({ name: BREAKER })).breaker?.state).toBe(BreakerState.OPEN);
    expect(fleet.every((i) => !i.closed)).toBe(true);
    expect((await fetch(`${p.httpUrl}/healthz`)).status).toBe(200);
    const health = createGrpcClient(healthV1.Health, p.grpcAddress);
    cleanup.push(() => health.close());
    expect((await health.check({ service: "" })).status).toBe(healthV1.HealthCheckResponse_ServingStatus.SERVING);
    // An operator's force takes effect but is not acknowledged as saved.
    const err = await ops
      .forceBreaker({ name: "s3:other", mode: ForceMode.OPEN, reason: "while the disk is full" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).rawMessage).toBe(
      "the change is in effect, but saving the state failed (see the coordinator's log): " +
        "it may not survive a restart until a save works",
    );
    expect((await ops.getBreaker({ name: "s3:other" })).breaker?.state).toBe(BreakerState.OPEN);
    // It retries on its own (no new transition needed), quietly.
    const counted = (await failures())!;
    await eventually(async () => ((await failures()) ?? 0) > counted, { what: "a retried save" });
    expect(logged(p, "saving the state failed: serving on, the file is behind until a save works")).toHaveLength(1);

    // The directory can be made again: the next retry writes everything in effect.
    rmSync(stateDir);
    await eventually(() => saved(file, BREAKER)?.auto.kind === "open" && saved(file, "s3:other") !== undefined, {
      what: "the state on disk again",
    });
    await eventually(() => logged(p, "saving the state works again").length === 1, { what: "the recovery logged" });
    const stopped = (await failures())!;
    const version = (await ops.getBreaker({ name: BREAKER })).breaker!.version;
    expect(await p.stop("SIGKILL")).toBe("SIGKILL");

    const second = await start(env);
    expect((await second.ops.getBreaker({ name: BREAKER })).breaker).toMatchObject({
      state: BreakerState.OPEN,
      version,
    });
    expect((await second.ops.getBreaker({ name: "s3:other" })).breaker?.override?.reason).toBe(
      "while the disk is full",
    );
    expect(await scrapeSample(second.p.httpUrl, "coordinator_state_write_failures_total")).toBe(0);
    expect(stopped).toBeGreaterThanOrEqual(2);
  });
});
