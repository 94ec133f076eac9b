/**
 * What the coordinator process does with requests it must refuse: malformed
 * Session streams end with INVALID_ARGUMENT and a message a person can act on,
 * ForceBreaker refuses bad input (and callers without the admin token), and
 * the coordinator goes on serving everyone else.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { breakerV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { eventually, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import { SimInstance } from "./__fixtures__/sim-instance.js";

const { BreakerState, ForceMode } = breakerV1;
const BREAKER = "s3:http://storage.test:9000";
const TOKEN = "validation-admin-token";
const admin = { headers: { authorization: `Bearer ${TOKEN}` } };
const long = "s3:" + "x".repeat(600);

describe("the coordinator refuses malformed input and serves on", () => {
  let dir: string;
  let coordinator: ServiceProcess;
  let ops: GrpcClient<typeof breakerV1.BreakerCoordinator>;
  let steady: SimInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-coord-valid-"));
    coordinator = await startServiceProcess("breaker-coordinator", {
      env: { COORDINATOR_STATE_FILE: join(dir, "state.json"), BW_ADMIN_TOKEN: TOKEN },
    });
    ops = createGrpcClient(breakerV1.BreakerCoordinator, coordinator.grpcAddress);
    steady = new SimInstance(ops, "steady", { breakers: [BREAKER] });
    await eventually(() => steady.state() === BreakerState.CLOSED, { what: "steady's snapshot" });
  });

  afterAll(async () => {
    steady?.end();
    ops?.close();
    await coordinator?.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a session that sends `messages` (after its hello unless `first` replaces it); answers how it ended. */
  async function refusedSession(
    id: string,
    options: { first?: breakerV1.SessionRequest["message"] | null; hello?: string[] },
    then: breakerV1.SessionRequest["message"][] = [],
  ) {
    const sim = new SimInstance(ops, id, { breakers: options.hello ?? [BREAKER], first: options.first });
    for (const m of then) sim.send(m);
    if (options.first === null) sim.end();
    await eventually(() => sim.closed, { what: `session ${id} ended by the coordinator` });
    sim.end();
    return sim;
  }

  const report = (
    count: MessageInitShape<typeof breakerV1.OutcomeCountSchema>,
  ): breakerV1.SessionRequest["message"] => ({
    case: "report",
    value: create(breakerV1.OutcomeReportSchema, { counts: [create(breakerV1.OutcomeCountSchema, count)] }),
  });
  const hello = (instanceId: string): breakerV1.SessionRequest["message"] => ({
    case: "hello",
    value: create(breakerV1.HelloSchema, { instanceId, service: "cache-store", breakers: [BREAKER] }),
  });

  const cases: [string, () => Promise<SimInstance>, string][] = [
    [
      "a session that sends nothing",
      () => refusedSession("silent", { first: null }),
      "the first Session message must be hello",
    ],
    [
      "a report before the hello",
      () => refusedSession("early", { first: report({ breaker: BREAKER, failures: 1 }) }),
      "the first Session message must be hello",
    ],
    ["a hello without an instance id", () => refusedSession("", {}), "hello.instance_id is empty"],
    [
      "an empty breaker name in the hello",
      () => refusedSession("empty-name", { hello: [BREAKER, ""] }),
      'hello.breakers: a breaker name must be 1-512 characters, got ""',
    ],
    [
      "an overlong breaker name in the hello",
      () => refusedSession("long-name", { hello: [long] }),
      "hello.breakers: a breaker name must be 1-512 characters",
    ],
    [
      "slow_calls above the calls",
      () => refusedSession("slow", {}, [report({ breaker: BREAKER, successes: 1, failures: 1, slowCalls: 3 })]),
      `report for ${BREAKER}: slow_calls (3) exceeds successes + failures`,
    ],
    [
      "an empty breaker name in a report",
      () => refusedSession("report-empty", {}, [report({ breaker: "", failures: 1 })]),
      'report.counts.breaker: a breaker name must be 1-512 characters, got ""',
    ],
    [
      "an overlong breaker name in a report",
      () => refusedSession("report-long", {}, [report({ breaker: long, failures: 1 })]),
      "report.counts.breaker: a breaker name must be 1-512 characters",
    ],
    [
      "a probe request for no breaker",
      () =>
        refusedSession("probe-empty", {}, [
          { case: "probeRequest", value: create(breakerV1.ProbeRequestSchema, { breaker: "" }) },
        ]),
      'probe_request.breaker: a breaker name must be 1-512 characters, got ""',
    ],
    ["a second hello", () => refusedSession("twice", {}, [hello("twice")]), "hello may only be sent once, first"],
  ];

  for (const [what, run, message] of cases) {
    it(`ends a session with INVALID_ARGUMENT for ${what}`, async () => {
      const sim = await run();
      expect(sim.error?.code).toBe(Code.InvalidArgument);
      expect(sim.error?.rawMessage).toContain(message);
    });
  }

  it("kept serving the well-behaved session, and lists refused ones that said hello as stale", async () => {
    expect(steady.closed).toBe(false);
    await ops.forceBreaker({ name: BREAKER, mode: ForceMode.OPEN, reason: "after the refusals" }, admin);
    await eventually(() => steady.state() === BreakerState.OPEN, { what: "steady hears the forced open" });
    await ops.forceBreaker({ name: BREAKER, mode: ForceMode.AUTO }, admin);
    await eventually(() => steady.state() === BreakerState.CLOSED, { what: "steady hears the release" });
    // A heartbeat (an empty report) keeps steady live however long the refusals took.
    steady.send({ case: "report", value: create(breakerV1.OutcomeReportSchema, {}) });
    const statuses = async () =>
      Object.fromEntries((await ops.listInstances({})).instances.map((i) => [i.instanceId, i.status]));
    await eventually(async () => (await statuses()).steady === breakerV1.InstanceStatus.LIVE, { what: "steady live" });
    expect(await statuses()).toEqual({
      steady: breakerV1.InstanceStatus.LIVE,
      slow: breakerV1.InstanceStatus.STALE,
      "report-empty": breakerV1.InstanceStatus.STALE,
      "report-long": breakerV1.InstanceStatus.STALE,
      "probe-empty": breakerV1.InstanceStatus.STALE,
      twice: breakerV1.InstanceStatus.STALE,
    });
    // The refused sessions left no breaker behind (a malformed name is never registered).
    expect((await ops.listBreakers({})).breakers.map((b) => b.name)).toEqual([BREAKER]);
  });

  describe("ForceBreaker", () => {
    async function refusal(
      req: MessageInitShape<typeof breakerV1.ForceBreakerRequestSchema>,
      options: { headers: Record<string, string> } = admin,
    ): Promise<ConnectError> {
      const err: unknown = await ops.forceBreaker(create(breakerV1.ForceBreakerRequestSchema, req), options).then(
        () => "answered",
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConnectError);
      return err as ConnectError;
    }

    it("refuses a caller without the admin token (UNAUTHENTICATED), saying what is needed", async () => {
      const none = await refusal({ name: BREAKER, mode: ForceMode.OPEN }, { headers: {} });
      expect([none.code, none.rawMessage]).toEqual([
        Code.Unauthenticated,
        "ForceBreaker needs a bearer token allowed to admin",
      ]);
      const wrong = await refusal(
        { name: BREAKER, mode: ForceMode.OPEN },
        { headers: { authorization: "Bearer nope" } },
      );
      expect([wrong.code, wrong.rawMessage]).toEqual([
        Code.Unauthenticated,
        "ForceBreaker was sent a bearer token that is not known",
      ]);
    });

    const bad: [string, MessageInitShape<typeof breakerV1.ForceBreakerRequestSchema>, string][] = [
      ["no mode", { name: BREAKER }, "mode must be FORCE_MODE_OPEN, FORCE_MODE_CLOSED or FORCE_MODE_AUTO"],
      [
        "an unknown mode",
        { name: BREAKER, mode: 42 as breakerV1.ForceMode },
        "mode must be FORCE_MODE_OPEN, FORCE_MODE_CLOSED or FORCE_MODE_AUTO",
      ],
      ["an empty name", { name: "", mode: ForceMode.OPEN }, "name is empty"],
      [
        "an overlong name",
        { name: long, mode: ForceMode.OPEN },
        `name: a breaker name must be 1-512 characters, got ${JSON.stringify(long.slice(0, 40))}`,
      ],
      [
        "a negative ttl",
        { name: BREAKER, mode: ForceMode.OPEN, ttl: { seconds: -60n, nanos: 0 } },
        "ttl must not be negative",
      ],
      [
        "a ttl of negative nanos",
        { name: BREAKER, mode: ForceMode.OPEN, ttl: { seconds: 0n, nanos: -5 } },
        "ttl must not be negative",
      ],
      [
        "a ttl past a year",
        { name: BREAKER, mode: ForceMode.OPEN, ttl: { seconds: 10n ** 12n, nanos: 0 } },
        "ttl must be at most 8760h (a year), got 1000000000000s",
      ],
      [
        "a ttl with nanos out of range",
        { name: BREAKER, mode: ForceMode.OPEN, ttl: { seconds: 1n, nanos: 2e9 } },
        "ttl.nanos must be within ±999999999, got 2000000000",
      ],
    ];
    for (const [what, req, message] of bad) {
      it(`refuses ${what} with INVALID_ARGUMENT`, async () => {
        const before = (await ops.getBreaker({ name: BREAKER })).breaker!;
        const err = await refusal(req);
        expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, message]);
        // Nothing changed: no new breaker, no new version.
        const after = (await ops.listBreakers({})).breakers;
        expect(after.map((b) => [b.name, b.version])).toEqual([[BREAKER, before.version]]);
      });
    }

    it("takes a force without a reason (a default names the mode) and lifts it with AUTO", async () => {
      const forced = (await ops.forceBreaker({ name: BREAKER, mode: ForceMode.CLOSED, ttl: { seconds: 60n } }, admin))
        .breaker!;
      expect(forced.override).toMatchObject({ mode: ForceMode.CLOSED, reason: "forced closed by an operator" });
      const lifted = (await ops.forceBreaker({ name: BREAKER, mode: ForceMode.AUTO }, admin)).breaker!;
      expect(lifted.override).toBeUndefined();
    });

    it("answers an unknown mode over Connect JSON (what curl sends) with invalid_argument", async () => {
      const res = await fetch(`${coordinator.httpUrl}/breakwater.breaker.v1.BreakerCoordinator/ForceBreaker`, {
        method: "POST",
        headers: { "content-type": "application/json", ...admin.headers },
        body: JSON.stringify({ name: BREAKER, mode: "FORCE_MODE_SIDEWAYS" }),
      });
      const body = (await res.json()) as { code: string; message: string };
      expect(res.status).toBe(400);
      expect(body.code).toBe("invalid_argument");
      // An enum name protobuf does not know reads as unspecified, which the coordinator refuses by name.
      expect(body.message).toBe("mode must be FORCE_MODE_OPEN, FORCE_MODE_CLOSED or FORCE_MODE_AUTO");
    });
  });
});
