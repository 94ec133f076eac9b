import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readyLine } from "./banner.js";
import { isPortFree } from "./ports.js";

// `npm start` as a user runs it (the built orchestrator, the built apps), on
// six free ports and a temporary data folder so it runs beside anything else.
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const orchestrator = path.join(repoRoot, "tools/dev/dist/main.js");
const apps = ["breaker-coordinator", "cache-store", "gateway"].map((a) =>
  path.join(repoRoot, "apps", a, "dist/main.js"),
);
const portNames = [
  "BW_DEV_S3_PORT",
  "COORDINATOR_PORT",
  "COORDINATOR_HTTP_PORT",
  "CACHE_STORE_PORT",
  "CACHE_STORE_HTTP_PORT",
  "GATEWAY_PORT",
];

let dataDir: string;
const running = new Set<ChildProcess>();

beforeAll(async () => {
  for (const f of [orchestrator, ...apps]) {
    if (!existsSync(f)) throw new Error(`${path.relative(repoRoot, f)} is missing: run \`npm run build\` first`);
  }
  dataDir = await mkdtemp(path.join(tmpdir(), "bw-dev-stack-"));
});
afterEach(async () => {
  // A failed assertion must not leave a stack holding ports: SIGTERM lets the
  // orchestrator stop its services (they run in their own process groups).
  await Promise.all(
    [...running].map(async (child) => {
      const closed = new Promise((r) => child.once("close", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await closed;
      clearTimeout(timer);
    }),
  );
});
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Six ports free right now (bound on port 0, then released). */
async function freePorts(): Promise<number[]> {
  const servers = await Promise.all(
    portNames.map(
      () =>
        new Promise<net.Server>((resolve) => {
          const s = net.createServer();
          s.listen(0, "0.0.0.0", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Starts the orchestrator with its output collected. */
function startOrchestrator(ports: number[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, BW_DEV_DATA_DIR: dataDir, NO_COLOR: "1" };
  delete env["BW_DEV_BASE_PORT"];
  portNames.forEach((name, i) => (env[name] = String(ports[i])));
  const child = spawn(process.execPath, [orchestrator], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    async waitFor(text: string, timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`no "${text}" in the orchestrator's output:\n${stdout}\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

describe("npm start (tools/dev)", () => {
  it("starts the stack, serves a round trip through the gateway, and stops cleanly on SIGINT", async () => {
    const ports = await freePorts();
    const gateway = `http://127.0.0.1:${ports[5]}`;
    const run = startOrchestrator(ports);
    await run.waitFor(readyLine, 45_000);
    const { stdout } = run.output();
    expect(stdout).toContain(`curl -i ${gateway}/objects/default/hello.txt`);
    expect(stdout).toMatch(/^breaker-coordinator \| /m);
    expect(stdout).toMatch(/^cache-store +\| /m);

    const put = await fetch(`${gateway}/objects/default/dev-stack-test.txt`, {
      method: "PUT",
      body: "hello from the dev stack",
    });
    expect(put.status).toBe(200);
    const get = await fetch(`${gateway}/objects/default/dev-stack-test.txt`);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe("hello from the dev stack");

    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    const out = run.output().stdout;
    // Reverse order: gateway, then cache-store, then the coordinator, then S3.
    const order = [
      "stopping gateway",
      "stopping cache-store",
      "stopping breaker-coordinator",
      "embedded S3 closed",
    ].map((l) => out.indexOf(l));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // Nothing is left holding a port.
    for (const port of ports) expect(await isPortFree(port, "0.0.0.0")).toBe(true);
  }, 90_000);

  it("refuses to start when a port is taken, naming the port and the service", async () => {
    const ports = await freePorts();
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(ports[3], "127.0.0.1", r));
    try {
      const run = startOrchestrator(ports);
      expect(await run.exited).toBe(1);
      const { stderr } = run.output();
      expect(stderr.trim()).toBe(
        `error: port ${ports[3]} (cache-store gRPC) is already in use; stop the process holding it, ` +
          `or set CACHE_STORE_PORT (or BW_DEV_BASE_PORT to move them all)`,
      );
    } finally {
      await new Promise((r) => holder.close(r));
    }
    // Nothing was started: the other ports are still free.
    for (const port of ports) expect(await isPortFree(port, "0.0.0.0")).toBe(true);
  }, 30_000);
});
