import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { breakerV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { bearer, eventually, startServiceProcess, writeTokensFile, type ServiceProcess } from "@breakwater/testkit";
import { SimInstance } from "./__fixtures__/sim-instance.js";

const { BreakerState, ForceMode } = breakerV1;
const BREAKER = "s3:http://storage.test:9000";
const TOKENS = [
  { name: "alice", token: "alice-secret", permissions: ["admin"] },
  { name: "cache-store-1", token: "instance-secret", permissions: ["read", "write", "purge"] },
  { name: "dashboard", token: "dashboard-secret", permissions: ["read"] },
  { name: "bucket-reader", token: "bucket-reader-secret", permissions: ["read"], buckets: ["default"] },
];

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

/** The coordinator with a token file (issue 13): Session needs write, the ops read, Force and Reset admin. */
describe("coordinator tokens and permissions", () => {
  let dir: string;
  let coordinator: ServiceProcess;
  let ops: GrpcClient<typeof breakerV1.BreakerCoordinator>;
  const sims: SimInstance[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-coord-access-"));
    coordinator = await startServiceProcess("breaker-coordinator", {
      env: { COORDINATOR_STATE_FILE: join(dir, "state.json"), BW_TOKENS_FILE: writeTokensFile(TOKENS) },
    });
    ops = createGrpcClient(breakerV1.BreakerCoordinator, coordinator.grpcAddress);
  });
  afterAll(async () => {
    for (const s of sims) s.end();
    ops?.close();
    await coordinator?.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  const session = (id: string, headers?: Record<string, string>): SimInstance => {
    const sim = new SimInstance(ops, id, { breakers: [BREAKER], headers });
    sims.push(sim);
    return sim;
  };

  it("Session: UNAUTHENTICATED without an instance credential, PERMISSION_DENIED with a read-only one", async () => {
    const none = session("no-token");
    await eventually(() => none.closed, { what: "the session without a token ended" });
    expect([none.error?.code, none.error?.rawMessage]).toEqual([
      Code.Unauthenticated,
      "Session needs a bearer token allowed to write",
    ]);
    const readOnly = session("read-only", bearer("dashboard-secret"));
    await eventually(() => readOnly.closed, { what: "the read-only session ended" });
    expect(readOnly.error?.code).toBe(Code.PermissionDenied);
    const instance = session("instance", bearer("instance-secret"));
    await eventually(() => instance.state() === BreakerState.CLOSED, { what: "the instance's snapshot" });
    expect(instance.closed).toBe(false);
  });

  it("the read-only ops need read (an unlimited one: breakers have no buckets)", async () => {
    expect((await refusal(ops.listBreakers({}))).code).toBe(Code.Unauthenticated);
    expect((await refusal(ops.listInstances({}, { headers: bearer("nope") }))).code).toBe(Code.Unauthenticated);
    expect((await refusal(ops.listBreakers({}, { headers: bearer("bucket-reader-secret") }))).code).toBe(
      Code.PermissionDenied,
    );
    const list = await ops.listBreakers({}, { headers: bearer("dashboard-secret") });
    expect(list.breakers.map((b) => b.name)).toContain(BREAKER);
  });

  it("ForceBreaker and ResetBreaker need admin; GetBreaker shows who forced it, and the log says who", async () => {
    const force = { name: BREAKER, mode: ForceMode.OPEN, reason: "storage maintenance" };
    expect((await refusal(ops.forceBreaker(force))).code).toBe(Code.Unauthenticated);
    const denied = await refusal(ops.forceBreaker(force, { headers: bearer("instance-secret") }));
    expect([denied.code, denied.rawMessage]).toEqual([
      Code.PermissionDenied,
      'ForceBreaker is not allowed: token "cache-store-1" may not admin',
    ]);
    expect((await refusal(ops.resetBreaker({ name: BREAKER }, { headers: bearer("dashboard-secret") }))).code).toBe(
      Code.PermissionDenied,
    );
    await ops.forceBreaker(force, { headers: bearer("alice-secret") });
    const got = await ops.getBreaker({ name: BREAKER }, { headers: bearer("dashboard-secret") });
    expect([got.breaker?.state, got.breaker?.override?.reason, got.breaker?.override?.forcedBy]).toEqual([
      BreakerState.OPEN,
      "storage maintenance",
      "alice",
    ]);
    await ops.resetBreaker({ name: BREAKER }, { headers: bearer("alice-secret") });
    // The log line is written before the answer, but reaches this process on another pipe: wait for it.
    const logged = (action: string) =>
      new RegExp(`"action":"${action}","breaker":"s3:http://storage.test:9000","who":"alice"`);
    await eventually(() => logged("reset").test(coordinator.output.join("\n")), { what: "the reset logged" });
    const log = coordinator.output.join("\n");
    expect(log).toMatch(logged("force"));
    for (const t of TOKENS) expect(log).not.toContain(t.token);
  });
});
