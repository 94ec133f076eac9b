import { afterEach, describe, expect, it, vi } from "vitest";
import * as http from "node:http";
import { pino } from "pino";
import { drainableHttp, shutDown, type Drainable } from "./shutdown.js";

const logger = pino({ level: "silent" });

/** A server whose drain ends when the test says so, recording what happened to it. */
function fakeServer(name: string, steps: string[]): Drainable & { finish(): void } {
  let finish = (): void => {};
  return {
    drain: () => {
      steps.push(`${name}: stop accepting`);
      return new Promise<void>((resolve) => (finish = resolve));
    },
    force: () => {
      steps.push(`${name}: forced`);
      finish();
    },
    finish: () => finish(),
  };
}

describe("shutDown", () => {
  afterEach(() => void vi.useRealTimers());

  it("runs not-ready, drain delay, stop accepting, drain, then closes resources in reverse", async () => {
    vi.useFakeTimers();
    const steps: string[] = [];
    const a = fakeServer("a", steps);
    const done = shutDown({
      logger,
      notReady: () => steps.push("not ready"),
      drainDelayMs: 1_000,
      beforeDrain: () => steps.push("streams ended"),
      servers: [a],
      graceMs: 5_000,
      resources: [
        { close: () => steps.push("first opened closed") },
        { close: () => steps.push("last opened closed") },
      ],
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(steps).toEqual(["not ready"]); // still serving during the drain delay
    await vi.advanceTimersByTimeAsync(1);
    expect(steps).toEqual(["not ready", "streams ended", "a: stop accepting"]);
    a.finish();
    await done;
    expect(steps.slice(3)).toEqual(["last opened closed", "first opened closed"]);
  });

  it("cuts what is still running when the grace period is over, and only then closes resources", async () => {
    vi.useFakeTimers();
    const steps: string[] = [];
    const done = shutDown({
      logger,
      notReady: () => {},
      servers: [fakeServer("a", steps), fakeServer("b", steps)],
      graceMs: 2_000,
      resources: [{ close: () => steps.push("closed") }],
    });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(steps).toEqual(["a: stop accepting", "b: stop accepting"]);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(steps).toEqual(["a: stop accepting", "b: stop accepting", "a: forced", "b: forced", "closed"]);
  });
});

describe("drainableHttp", () => {
  it("lets a request in flight finish, then closes its keep-alive connection, not waiting for the client", async () => {
    let answer = (): void => {};
    let arrive = (): void => {};
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const server = http.createServer((_req, res) => {
      answer = () => res.end("ok");
      arrive();
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const agent = new http.Agent({ keepAlive: true });
    try {
      const { port } = server.address() as { port: number };
      const received = new Promise<string>((resolve, reject) =>
        http
          .get({ host: "127.0.0.1", port, agent }, (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString()));
            res.on("end", () => resolve(body));
          })
          .on("error", reject),
      );
      await arrived;
      const steps: string[] = [];
      const drained = drainableHttp(server)
        .drain()
        .then(() => steps.push("drained"));
      steps.push("answered");
      answer();
      expect(await received).toBe("ok"); // not cut by the drain
      // Long before the 60 s keep-alive timeout: the test would time out otherwise.
      await drained;
      expect(steps).toEqual(["answered", "drained"]);
    } finally {
      agent.destroy();
      server.closeAllConnections();
    }
  });
});
