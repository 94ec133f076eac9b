import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { eventually, freePort } from "@breakwater/testkit";
import { readyLine } from "../banner.js";
import { isPortFree } from "../ports.js";

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const orchestrator = path.join(repoRoot, "tools/dev/dist/main.js");

/** A BW_DEV_BASE_PORT whose block of `size` ports is free now, below the ephemeral range. */
async function freeBase(size: number): Promise<number> {
  for (;;) {
    const base = await freePort();
    const block = Array.from({ length: size }, (_, i) => base + i);
    if (base + size <= 32768 && (await Promise.all(block.map((p) => isPortFree(p, "0.0.0.0")))).every(Boolean)) {
      return base;
    }
  }
}

/** `npm start` (the built orchestrator) running on a free port block and a temporary data folder. */
export interface DevOrchestrator {
  readonly child: ChildProcess;
  readonly base: number;
  readonly dataDir: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, and the exit code once it closed. */
  stop(): Promise<number | null>;
  /** Stops it if still running and removes its data folder. */
  cleanUp(): Promise<void>;
}

/**
 * Starts the orchestrator with `env` on top of this process's environment,
 * its ports on a free block of `ports` from BW_DEV_BASE_PORT, and waits for
 * the ready line (or rejects with its output when it exits first).
 */
export async function startDevOrchestrator(env: Record<string, string>, ports: number): Promise<DevOrchestrator> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "bw-dev-"));
  const base = await freeBase(ports);
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    BW_DEV_DATA_DIR: dataDir,
    BW_DEV_BASE_PORT: String(base),
    NO_COLOR: "1",
    ...env,
  };
  for (const v of ["COORDINATOR_PORT", "COORDINATOR_HTTP_PORT", "CACHE_STORE_PORT", "GATEWAY_PORT"]) delete childEnv[v];
  const child = spawn(process.execPath, [orchestrator], {
    cwd: repoRoot,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return closed;
  };
  const started: DevOrchestrator = {
    child,
    base,
    dataDir,
    output: () => output,
    stop,
    async cleanUp() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await eventually(() => output.includes(readyLine) || child.exitCode !== null, {
      timeoutMs: 90_000,
      what: "the dev stack up",
    });
    if (!output.includes(readyLine)) throw new Error(`npm start exited before it was up:\n${output}`);
  } catch (err) {
    await started.cleanUp();
    throw err;
  }
  return started;
}
