import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { connect } from "node:net";
import { eventually, MiB } from "@breakwater/testkit";
import { pausedRead, startStack, type Stack } from "./__fixtures__/stack.js";

/** Over the cache-store's CACHE_MAX_OBJECT_BYTES: streamed, so a paused reader holds its request open. */
const SIZE = 32 * MiB;
const DRAIN_MS = 3_000;
const GRACE_MS = 4_000;

/** Whether a new TCP connection to `port` is refused (the server stopped listening). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/**
 * The gateway's graceful shutdown on SIGTERM (server-kit's SHUTDOWN_DRAIN_DELAY_MS
 * and SHUTDOWN_GRACE_MS; style.md "ordered shutdown": not-ready first, then stop
 * accepting, drain, close): during the drain delay /healthz and /readyz answer
 * 503 while requests are still served; then no new connection is taken, a
 * request in flight finishes whole, what is still running after the grace
 * period is cut, and the process exits 0.
 */
describe("graceful shutdown on SIGTERM", () => {
  let stack: Stack;
  const large = randomBytes(SIZE);
  beforeAll(async () => {
    stack = await startStack({
      gatewayEnv: { SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_MS), SHUTDOWN_GRACE_MS: String(GRACE_MS) },
    });
    expect((await fetch(`${stack.base}/shutdown/large.bin`, { method: "PUT", body: large })).status).toBe(200);
    expect((await fetch(`${stack.base}/shutdown/small.txt`, { method: "PUT", body: "small" })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("drain delay (503 readiness, still serving), in-flight body finished, rest cut after grace, exit 0", async () => {
    const gateway = stack.gateways[0]!;
    const url = gateway.httpUrl;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    // Two reads in flight, both paused on their first bytes: one is resumed during the
    // shutdown and must finish whole, the other never reads on and must be cut.
    const finishing = await pausedRead(gateway.httpPort, "/objects/default/shutdown/large.bin");
    const stalled = await pausedRead(gateway.httpPort, "/objects/default/shutdown/large.bin");

    const signalledAt = performance.now();
    let exitCode: number | string | undefined;
    void gateway.stop("SIGTERM").then((code) => (exitCode = code));

    // The drain delay: not ready (and not healthy) any more, yet still answering requests.
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 503, { what: "/readyz 503" });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: "shutting down" });
    const served = await fetch(`${url}/objects/default/shutdown/small.txt`);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe("small");
    expect(await refused(gateway.httpPort)).toBe(false);

    // After the delay the listener closes; the delay was honoured.
    await eventually(() => refused(gateway.httpPort), { what: "the listener closed" });
    expect(performance.now() - signalledAt).toBeGreaterThanOrEqual(DRAIN_MS);

    // The in-flight read finishes whole during the grace period.
    finishing.resume();
    await eventually(() => finishing.ending() !== undefined, { what: "the in-flight read to end" });
    expect(finishing.ending()).toMatchObject({ complete: true, bytes: SIZE });
    expect(finishing.ending()!.sha256).toBe(createHash("sha256").update(large).digest("hex"));
    expect(stalled.ending()).toBeUndefined();

    // The grace period ends: the stalled read is cut and the process exits 0. (A paused client
    // only notices once it reads again: the cut is seen when it resumes.)
    await eventually(() => exitCode !== undefined, {
      timeoutMs: DRAIN_MS + GRACE_MS + 10_000,
      what: "the gateway to exit once the grace period is over",
    });
    expect(exitCode).toBe(0);
    // Timers may fire a hair early against this process's clock.
    expect(performance.now() - signalledAt).toBeGreaterThanOrEqual(DRAIN_MS + GRACE_MS - 50);
    stalled.resume();
    await eventually(() => stalled.ending() !== undefined, { what: "the stalled read to end" });
    expect(stalled.ending()).toMatchObject({ complete: false });
    expect(stalled.ending()!.bytes).toBeLessThan(SIZE);
  }, 60_000);
});
