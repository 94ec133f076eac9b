import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdInstalled, eventually, scrapeSample } from "@breakwater/testkit";
import { startDevOrchestrator, type DevOrchestrator } from "./__fixtures__/dev-orchestrator.js";

const ops = "breakwater.breaker.v1.BreakerCoordinator";

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
  let stack: DevOrchestrator;
  let base: number;
  const output = (): string => stack.output();

  beforeAll(async () => {
    stack = await startDevOrchestrator({ BW_DEV_COORDINATORS: "3" }, 28);
    base = stack.base;
  }, 120_000);

  afterAll(async () => {
    await stack?.cleanUp();
  });

  it("starts etcd and three replicas, and the banner lists each", () => {
    for (const name of ["etcd", "breaker-coordinator-1", "breaker-coordinator-2", "breaker-coordinator-3"]) {
      expect(output()).toContain(`${name} is healthy`);
    }
    expect(output()).toContain(`breaker-coordinator-3  gRPC (h2c)`);
  });

  it("a replica killed: the stack stays up, the instances fail over, and the fleet still agrees", async () => {
    const breaker = `s3:http://127.0.0.1:${base}`;
    const replicaHttp = (i: number) => `http://127.0.0.1:${base + 2 + 10 * i}/${ops}`;
    // Each instance starts on a replica drawn at random: kill the gateway's.
    const sessionLine = /gateway\s+\| INFO {2}breaker session attached replica=http:\/\/127\.0\.0\.1:(\d+)/;
    // The session attaches on its own time, possibly after the stack's ready line.
    await eventually(() => sessionLine.test(output()), { what: "the gateway's breaker session attached" });
    const attached = sessionLine.exec(output());
    const victim = (Number(attached![1]) - base - 1) / 10;
    process.kill(replicaPid(stack.child.pid!, base + 1 + 10 * victim), "SIGKILL");
    await eventually(() => output().includes(`breaker-coordinator-${victim + 1} was ended by SIGKILL; the other`), {
      what: "the orchestrator reports the replica gone and carries on",
    });
    await eventually(
      () => /gateway\s+\| INFO {2}breaker session attached event=breaker_session_failover/.test(output()),
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
    expect(stack.child.exitCode).toBeNull();
    expect(await stack.stop()).toBe(0);
  }, 60_000);
});
