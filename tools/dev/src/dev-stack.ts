import * as path from "node:path";
import { describeExit, startChildService, type ChildExit, type ChildService } from "./child-service.js";
import type { DevConfig } from "./dev-config.js";
import { startEmbeddedS3, type EmbeddedS3 } from "./embedded-s3.js";
import { findBusyPorts, portInUseMessage } from "./ports.js";
import type { StackPlan } from "./stack-plan.js";
import { ServiceStartError, waitHealthy } from "./wait-healthy.js";

/** Some of the stack's ports are held by other processes; nothing was started. */
export class PortsBusyError extends Error {
  override readonly name = "PortsBusyError";
  constructor(readonly lines: readonly string[]) {
    super(lines.join("\n"));
  }
}

/** Options of `startDevStack`. */
export interface DevStackOptions {
  readonly config: DevConfig;
  readonly plan: StackPlan;
  /** The environment each child inherits (the plan's variables go on top). */
  readonly env: NodeJS.ProcessEnv;
  /** Working directory of the children (the repository root). */
  readonly cwd: string;
  /** A line of a service's output. */
  readonly onOutput: (service: string, stream: "stdout" | "stderr", line: string) => void;
  /** What the orchestrator itself has to say. */
  readonly onStatus: (message: string) => void;
  /** Called once if a service exits while the stack runs and nobody asked it to. */
  readonly onUnexpectedExit: (service: string, exit: ChildExit) => void;
  /** Aborting it during start stops what was started and rejects with an "aborted" ServiceStartError. */
  readonly signal?: AbortSignal;
  /** Told of each service process as soon as it is spawned (to kill it if this process must exit at once). */
  readonly onSpawn?: (child: ChildService) => void;
}

/** The running stack. */
export interface DevStack {
  readonly services: readonly ChildService[];
  /** Stops the services in reverse start order (each SIGTERM, SIGKILL after the grace), then the S3. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the dev stack: checks every port first (PortsBusyError lists the
 * ones taken), starts the embedded S3 with its bucket, then each service in
 * plan order, waiting for its /healthz before the next. If a service fails to
 * come up, everything started is stopped and the ServiceStartError names it.
 */
export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const { config, plan } = options;
  const busy = await findBusyPorts(plan.ports);
  if (busy.length > 0) throw new PortsBusyError(busy.map(portInUseMessage));

  const s3Port = plan.ports[0]!;
  const s3 = await startEmbeddedS3({
    host: s3Port.host,
    port: s3Port.port,
    directory: path.join(config.dataDir, "s3"),
    bucket: config.bucket,
  });
  options.onStatus(`embedded S3 listening on ${s3.endpoint} (bucket ${config.bucket})`);

  const services: ChildService[] = [];
  let stopped: Promise<void> | undefined;
  const stack: DevStack = {
    services,
    stop: () => (stopped ??= stopAll(services, s3, config.stopGraceMs, options.onStatus)),
  };

  // A service that exits on its own: during start it fails the start (even
  // if it is not the one being waited for); afterwards it is reported.
  let up = false;
  let crashed: { name: string; exit: ChildExit } | undefined;
  const crash = new AbortController();
  const watch = (child: ChildService): void => {
    void child.exited.then((exit) => {
      if (child.stopping) return;
      if (up) options.onUnexpectedExit(child.name, exit);
      else {
        crashed ??= { name: child.name, exit };
        crash.abort();
      }
    });
  };
  const signal = options.signal ? AbortSignal.any([options.signal, crash.signal]) : crash.signal;

  try {
    for (const service of plan.services) {
      if (options.signal?.aborted)
        throw new ServiceStartError(service.name, "aborted", `start of ${service.name} was interrupted`);
      options.onStatus(`starting ${service.name}`);
      const child = startChildService({
        name: service.name,
        command: service.exec?.command ?? process.execPath,
        args: service.exec ? [...service.exec.args] : [service.main!],
        env: { ...options.env, ...service.env },
        cwd: options.cwd,
        onLine: (stream, line) => options.onOutput(service.name, stream, line),
      });
      services.push(child);
      options.onSpawn?.(child);
      watch(child);
      const startedAt = Date.now();
      await waitHealthy({
        service: service.name,
        url: service.healthUrl,
        tls: service.healthTls,
        timeoutMs: config.startTimeoutMs,
        exited: child.exited,
        signal,
      });
      options.onStatus(`${service.name} is healthy (${Date.now() - startedAt} ms)`);
    }
    if (crashed !== undefined) throw new Error("a service exited during start");
  } catch (err) {
    await stack.stop();
    if (crashed !== undefined && !options.signal?.aborted) {
      const { name, exit } = crashed;
      throw new ServiceStartError(
        name,
        "exited",
        `${name} ${describeExit(exit)} before the stack was up (its output is above)`,
      );
    }
    throw err;
  }
  up = true;
  return stack;
}

async function stopAll(
  services: readonly ChildService[],
  s3: EmbeddedS3,
  graceMs: number,
  onStatus: (message: string) => void,
): Promise<void> {
  for (const child of [...services].reverse()) {
    if (child.done) {
      child.kill(); // marks it stopping; the process is already gone
      continue;
    }
    onStatus(`stopping ${child.name}`);
    const exit = await child.stop(graceMs);
    onStatus(
      exit.forced ? `${child.name} did not stop within ${graceMs} ms: killed` : `${child.name} ${describeExit(exit)}`,
    );
  }
  await s3.close();
  onStatus("embedded S3 closed");
}

export { ServiceStartError };
