import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import { testingV1 } from "@breakwater/proto";
import { eventually, freePort } from "@breakwater/testkit";
import { createGrpcClient } from "./grpc-client.js";

/** This package's directory: the script below imports the package by its own name (built, from dist). */
const packageDir = fileURLToPath(new URL("..", import.meta.url));

/**
 * A service process as every app's main.ts makes one: runService over the
 * echo service, on GRPC_PORT, with a grace long enough that only a forced
 * exit ends a shutdown that waits on an in-flight call.
 */
const script = `
import { createLogger, createServiceServer, runService } from "@breakwater/server-kit";
import { echoService } from "@breakwater/server-kit/testing";
await runService({
  loadConfig: () => ({ grpcPort: Number(process.env.GRPC_PORT) }),
  start: async ({ grpcPort }) => {
    const logger = createLogger({ service: "echo", level: "info" });
    const server = createServiceServer({
      name: "echo", services: [echoService()], logger, grpcPort, httpPort: 0, host: "127.0.0.1",
      shutdownGraceMs: 600000,
    });
    return { server, logger };
  },
});
`;

interface Run {
  readonly child: ChildProcess;
  readonly output: string[];
  /** The exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
}

const started: Run[] = [];

function run(grpcPort: number): Run {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    cwd: packageDir,
    env: { ...process.env, GRPC_PORT: String(grpcPort) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const collect = (d: Buffer): void => void output.push(...d.toString().split("\n").filter(Boolean));
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<number | string>((done) =>
    child.once("exit", (code, signal) => done(code ?? signal ?? "?")),
  );
  const r = { child, output, exited };
  started.push(r);
  return r;
}

afterEach(async () => {
  for (const r of started.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL");
    await r.exited;
  }
});

describe("runService: how a service process ends", () => {
  let holder: Server | undefined;
  afterEach(async () => {
    await new Promise((done) => (holder ? holder.close(done) : done(undefined)));
    holder = undefined;
  });

  it("a port in use: exit 1 with one line naming the port, no stack", async () => {
    const port = await freePort();
    holder = createServer();
    await new Promise<void>((done) => holder!.listen(port, "127.0.0.1", done));
    const r = run(port);
    expect(await r.exited).toBe(1);
    const line = `error: gRPC port ${port} is already in use; stop the other process or choose another port`;
    expect(r.output).toEqual([line]);
  });

  it("a second signal during a shutdown that waits on a call: exits at once, non-zero", async () => {
    const r = run(0);
    await eventually(() => r.output.some((l) => l.includes("echo listening")), { what: "the service listens" });
    const { grpcPort } = JSON.parse(r.output.find((l) => l.includes("echo listening"))!) as { grpcPort: number };
    const echo = createGrpcClient(testingV1.EchoService, `127.0.0.1:${grpcPort}`);
    try {
      // A stream that outlasts the test holds the shutdown (grace 10 min); its first message
      // says the call reached the handler.
      const stream = echo.echoStream({ count: 2, intervalMs: 600_000 })[Symbol.asyncIterator]();
      expect((await stream.next()).value?.index).toBe(0);
      r.child.kill("SIGTERM");
      await eventually(() => r.output.some((l) => l.includes("shutting down")), { what: "the shutdown began" });
      expect(r.child.exitCode).toBeNull(); // held by the call
      const second = performance.now();
      r.child.kill("SIGTERM");
      expect(await r.exited).toBe(1);
      // At once, not after the grace: a bound in seconds that only catches breakage.
      expect(performance.now() - second).toBeLessThan(10_000);
      expect(r.output.some((l) => l.includes("second signal: exiting now"))).toBe(true);
      await stream.return?.().catch(() => undefined);
    } finally {
      echo.close();
    }
  });
});
