/**
 * Three breaker sessions (as three instances of a service would start them,
 * gRPC transport included) with a real coordinator process: none dials
 * before start(); the fleet opens for all of them,
 * half-open probes are one at a time fleet-wide, the coordinator is killed
 * (clients detach and protect themselves locally without added latency) and
 * restarted on the same port (clients reattach and agree again).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { breakerV1 } from "@breakwater/proto";
import { Registry } from "prom-client";
import { parseBreakerConfigFile } from "@breakwater/breaker";
import type { BreakerClient, BreakerClientEvent, ProbeAdmission } from "@breakwater/breaker/session";
import { createGrpcClient, createLogger, type GrpcClient } from "@breakwater/server-kit";
import { eventually, freePort, promSample, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBreakerSession } from "./breaker-session.js";

const BREAKER = "s3:http://storage.int.test:9000";
const YAML = [
  "defaults:",
  // Long enough that the open state outlives the detach by seconds on a busy machine.
  "  open_timeout: 4s",
  "  max_open_timeout: 16s",
  "  open_jitter: 0",
  "  probe_lease: 2s",
  "  heartbeat_interval: 200ms",
  "  detach_after: 500ms",
  "",
].join("\n");

describe("three breaker clients with a real coordinator", () => {
  let dir: string;
  let port: number;
  let env: Record<string, string>;
  let coordinator: ServiceProcess;
  let ops: GrpcClient<typeof breakerV1.BreakerCoordinator>;
  const clients: BreakerClient[] = [];
  const registries: Registry[] = [];
  const events: BreakerClientEvent[][] = [[], [], []];
  const breakers = () => clients.map((c) => c.breaker(BREAKER));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-session-"));
    writeFileSync(join(dir, "breakers.yaml"), YAML);
    port = await freePort();
    env = {
      BREAKER_CONFIG: join(dir, "breakers.yaml"),
      COORDINATOR_STATE_FILE: join(dir, "state.json"),
      COORDINATOR_PORT: String(port),
    };
    coordinator = await startServiceProcess("breaker-coordinator", { env });
    ops = createGrpcClient(breakerV1.BreakerCoordinator, `127.0.0.1:${port}`);
    const config = parseBreakerConfigFile(readFileSync(join(dir, "breakers.yaml"), "utf8"));
    for (const i of [0, 1, 2]) {
      registries.push(new Registry());
      clients.push(
        createBreakerSession({
          coordinatorUrls: [`http://127.0.0.1:${port}`],
          service: "cache-store",
          address: `i${i + 1}:50051`,
          breakers: [BREAKER],
          config,
          logger: createLogger({ service: "test", level: "silent" }),
          registry: registries[i]!,
          gauge: { name: "test_breaker_state", help: "Breaker state" },
          onEvent: (e) => events[i]!.push(e),
        }),
      );
    }
    // Created is not started: no session yet (breaker-client.test.ts proves no stream opens before start()).
    expect((await ops.listInstances({})).instances).toHaveLength(0);
    for (const c of clients) c.start();
    await eventually(() => clients.every((c) => c.connected), { everyMs: 1, what: "every session attached" });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    ops?.close();
    await coordinator?.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    // Nothing left behind: sessions closed, the coordinator process gone.
    expect(clients.every((c) => !c.connected)).toBe(true);
    expect(
      coordinator === undefined || coordinator.child.exitCode !== null || coordinator.child.signalCode !== null,
    ).toBe(true);
  });

  it("opens fleet-wide on failures from the instances, and every client refuses", async () => {
    // Every instance has calls in the window, so quorum needs 2 of 3 failing.
    for (const b of breakers()) for (let i = 0; i < 2; i++) b.record(true, 3);
    const successes = async () => (await ops.listInstances({})).instances.reduce((n, i) => n + Number(i.successes), 0);
    await eventually(async () => (await successes()) === 6, { what: "6 successes reported" });
    expect(breakers().every((b) => b.admit().allowed)).toBe(true);
    // 5 failures per instance (a burst) but no run of 5 and < minimum_requests: no local breaker opens.
    for (const b of breakers()) for (const ok of [false, false, false, false, true, false]) b.record(ok, 3);
    await eventually(() => breakers().every((b) => !b.admit().allowed), { what: "every client refusing" });
    expect(breakers().every((b) => !b.locallyOpen && b.fleetView?.state === "open")).toBe(true);
    expect(breakers().map((b) => b.admit())).toEqual(
      Array(3).fill(expect.objectContaining({ kind: "refused", state: "open" })),
    );
    for (const r of registries)
      expect(promSample(await r.metrics(), "test_breaker_state", { breaker: BREAKER })).toBe(2);
  });

  const oneProbe =
    "in half-open, admits exactly one probe at a time across the 3 clients, " +
    "and closes everywhere after the successes";
  it(oneProbe, async () => {
    const open = (await ops.getBreaker({ name: BREAKER })).breaker!;
    const openUntil = Number(open.openUntil!.seconds) * 1000 + Math.floor(open.openUntil!.nanos / 1e6);
    await eventually(() => Date.now() >= openUntil, {
      timeoutMs: openUntil - Date.now() + 5_000,
      everyMs: 5,
      what: "open_until passed",
    });
    let inFlight = 0;
    let maxInFlight = 0;
    let probes = 0;
    const holders = new Set<number>();
    // Traffic on every client, one admit per client per turn of the loop; a probe takes 20 ms.
    await eventually(
      () => {
        breakers().forEach((b, i) => {
          const a = b.admit();
          if (a.kind !== "probe") return;
          probes++;
          holders.add(i);
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          setTimeout(() => {
            inFlight--;
            b.record(true, 20, a as ProbeAdmission);
          }, 20);
        });
        return breakers().every((b) => b.state() === "closed");
      },
      { timeoutMs: 15_000, everyMs: 1, what: "closed everywhere after probes" },
    ).catch((err: unknown) => {
      console.log(
        JSON.stringify(
          {
            probes,
            maxInFlight,
            events: events.map((l) => l.filter((e) => e.type !== "disconnected")),
            views: breakers().map((b) => [b.fleetView, b.state(), b.locallyOpen]),
          },
          null,
          1,
        ),
      );
      throw err;
    });
    expect(maxInFlight).toBe(1);
    expect(probes).toBe(3); // success_threshold
    expect(breakers().every((b) => b.admit().kind === "allowed")).toBe(true);
    expect((await ops.getBreaker({ name: BREAKER })).breaker?.state).toBe(breakerV1.BreakerState.CLOSED);
    expect(events.flat().filter((e) => e.type === "probe" && e.granted)).toHaveLength(3);
    console.info(
      `half-open: 3 probes, at most ${maxInFlight} in flight, ` +
        `held by client(s) ${[...holders].map((i) => i + 1).join(", ")}`,
    );
  });

  it("detaches after detach_after when the coordinator dies, keeps known open states, guards locally", async () => {
    // Open the fleet again, then kill the coordinator while it is open.
    for (const b of breakers()) for (const ok of [false, false, false, false, true, false]) b.record(ok, 3);
    await eventually(() => breakers().every((b) => b.fleetView?.state === "open"), { what: "open on every client" });
    const openUntil = breakers()[0]!.fleetView!.openUntil!;
    const seen = events.map((list) => list.length);
    expect(await coordinator.stop("SIGKILL")).toBe("SIGKILL");
    await eventually(() => clients.every((c) => c.detached), { what: "every client detached" });
    for (const r of registries) expect(promSample(await r.metrics(), "breaker_session_detached")).toBe(1);
    // Each detached no sooner than detach_after (500ms) after its stream broke.
    events.forEach((list, i) => {
      const since = list.slice(seen[i]);
      const broke = since.find((e) => e.type === "disconnected");
      const detached = since.find((e) => e.type === "detached");
      expect(detached!.at - broke!.at, `client ${i + 1}`).toBeGreaterThanOrEqual(490); // timers may fire a few ms early
    });
    // The open state known from the coordinator holds until it expires (open_timeout 4s leaves seconds to spare)...
    expect(Date.now()).toBeLessThan(openUntil);
    expect(breakers().every((b) => b.admit().kind === "refused")).toBe(true);
    await eventually(() => Date.now() >= openUntil, {
      timeoutMs: openUntil - Date.now() + 5_000,
      what: "open_until passed",
    });
    // ...then the local breakers decide alone: closed for all, until client 1's own calls fail.
    expect(breakers().every((b) => b.admit().kind === "allowed")).toBe(true);
    const first = breakers()[0]!;
    for (let i = 0; i < 5; i++) first.record(false, 3);
    expect(first.admit()).toMatchObject({ kind: "refused", state: "open" });
    expect(
      breakers()
        .slice(1)
        .every((b) => b.admit().allowed),
    ).toBe(true);
  });

  it("reattaches when the coordinator is back on the same port, reports what it saw, and agrees again", async () => {
    coordinator = await startServiceProcess("breaker-coordinator", { env });
    expect(coordinator.grpcPort).toBe(port);
    await eventually(() => clients.every((c) => c.connected && !c.detached), { what: "every client attached again" });
    for (const r of registries) expect(promSample(await r.metrics(), "breaker_session_detached")).toBe(0);
    expect(events.every((list) => list.some((e) => e.type === "attached" && e.afterDetach))).toBe(true);
    // Every client holds the coordinator's view: same state and version.
    await eventually(
      async () => {
        const b = (await ops.getBreaker({ name: BREAKER })).breaker!;
        return breakers().every(
          (x) => x.fleetView?.version === Number(b.version) && x.fleetView?.state === stateName(b.state),
        );
      },
      { what: "every client on the coordinator's state and version" },
    );
    // Client 1 reported the failures it saw while detached, and its local breaker open.
    const i1 = async () => (await ops.listInstances({})).instances.find((i) => i.address === "i1:50051");
    await eventually(async () => (await i1())?.failures === 5n, { what: "i1's 5 detached failures reported" });
    expect(await i1()).toMatchObject({ locallyOpen: [BREAKER], failures: 5n });
  });
});

function stateName(state: breakerV1.BreakerState): string {
  return state === breakerV1.BreakerState.OPEN
    ? "open"
    : state === breakerV1.BreakerState.HALF_OPEN
      ? "half-open"
      : "closed";
}
