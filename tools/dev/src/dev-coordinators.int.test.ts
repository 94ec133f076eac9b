import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdInstalled, eventually, freePort, scrapeSample } from "@breakwater/testkit";
import { readyLine } from "./banner.js";
import { isPortFree } from "./ports.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const orchestrator = path.join(repoRoot, "tools/dev/dist/main.js");
const ops = "breakwater.breaker.v1.BreakerCoordinator";

/** A BW_DEV_BASE_PORT whose block (base .. base+27: S3, 3 replicas, etcd, the apps) is free now. */
async function freeBase(): Promise<number> {
  for (;;) {
    const base = await freePort();
    const block = Array.from({ length: 28 }, (_, i) => base + i);
    if (base + 27 < 32768 && (await Promise.all(block.map((p) => isPortFree(p, "0.0.0.0")))).every(Boolean))
      return base;
  }
}

/** The orchestrator's child with this COORDINATOR_PORT (its environment says which replica it is). */
function replicaPid(orchestratorPid: number, grpcPort: number): number {
  const children = readFileSync(`/proc/${orchestratorPid}/task/${orchestratorPid}/children`, "utf8").trim().split(" ");
  const pid = children.map(Number).find((p) => {
    try {
      return readFileSync(`/proc/${p}/environ`, "utf8").split("\0").includes(`COORDINATOR_PORT=${grpcPort}`);
    } catch {
      return false;
    }
  });
  if (pid === undefined) throw new Error(`no child with COORDINATOR_PORT=${grpcPort}`);
  return pid;
}

const post = async (url: string, body: unknown): Promise<Record<string, unknown>> => {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
};

/**
 * `BW_DEV_COORDINATORS=3 npm start`: a one-node etcd and three coordinator
 * replicas sharing the fleet's state; a replica killed leaves the stack up and
 * the instances on the others.
 */
describe.skipIf(!etcdInstalled())("BW_DEV_COORDINATORS=3 npm start", () => {
  let dataDir: string;
  let child: ChildProcess;
  let base: number;
  let output = "";

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "bw-dev-coordinators-"));
    base = await freeBase();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BW_DEV_DATA_DIR: dataDir,
      BW_DEV_BASE_PORT: String(base),
      BW_DEV_COORDINATORS: "3",
      NO_COLOR: "1",
    };
    for (const v of ["COORDINATOR_PORT", "COORDINATOR_HTTP_PORT", "CACHE_STORE_PORT", "GATEWAY_PORT"]) delete env[v];
    child = spawn(process.execPath, [orchestrator], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    await eventually(() => output.includes(readyLine), { timeoutMs: 90_000, what: "the dev stack up" });
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const closed = new Promise((r) => child.once("close", r));
      child.kill("SIGTERM");
      await closed;
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("starts etcd and three replicas, and the banner lists each", () => {
    for (const name of ["etcd", "breaker-coordinator-1", "breaker-coordinator-2", "breaker-coordinator-3"]) {
      expect(output).toContain(`${name} is healthy`);
    }
    expect(output).toContain(`breaker-coordinator-3  gRPC (h2c)`);
  });

  it("a replica killed: the stack stays up, the instances fail over, and the fleet still agrees", async () => {
    const breaker = `s3:http://127.0.0.1:${base}`;
    const replicaHttp = (i: number) => `http://127.0.0.1:${base + 2 + 10 * i}/${ops}`;
    // Each instance starts on a replica drawn at random: kill the gateway's.
    const sessionLine = /gateway\s+\| INFO {2}breaker session attached replica=http:\/\/127\.0\.0\.1:(\d+)/;
    // The session attaches on its own time, possibly after the stack's ready line.
    await eventually(() => sessionLine.test(output), { what: "the gateway's breaker session attached" });
    const attached = sessionLine.exec(output);
    const victim = (Number(attached![1]) - base - 1) / 10;
    process.kill(replicaPid(child.pid!, base + 1 + 10 * victim), "SIGKILL");
    await eventually(() => output.includes(`breaker-coordinator-${victim + 1} was ended by SIGKILL; the other`), {
      what: "the orchestrator reports the replica gone and carries on",
    });
    await eventually(
      () => /gateway\s+\| INFO {2}breaker session attached event=breaker_session_failover/.test(output),
      {
        timeoutMs: 15_000,
        what: "the gateway resumed on another replica",
      },
    );
    const [other, third] = [0, 1, 2].filter((i) => i !== victim);
    await post(`${replicaHttp(other!)}/ForceBreaker`, {
      name: breaker,
      mode: "FORCE_MODE_OPEN",
      reason: "dev",
      ttl: "60s",
    });
    expect(
      ((await post(`${replicaHttp(third!)}/GetBreaker`, { name: breaker }))["breaker"] as { state: string }).state,
    ).toBe("BREAKER_STATE_OPEN");
    await eventually(
      async () =>
        (await scrapeSample(`http://127.0.0.1:${base + 4}`, "cache_storage_breaker_state", { breaker })) === 2,
      { timeoutMs: 10_000, what: "the cache-store applies the breaker forced on another replica" },
    );
    expect(child.exitCode).toBeNull();
    const closed = new Promise<number | null>((r) => child.once("close", r));
    child.kill("SIGTERM");
    expect(await closed).toBe(0);
  }, 60_000);
});
