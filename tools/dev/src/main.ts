/**
 * `npm start`: the whole dev stack on one machine — embedded S3, then
 * breaker-coordinator, cache-store and gateway as child processes — with their
 * logs on this console. Only wiring lives here; each step is its own file.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { renderBanner } from "./banner.js";
import { describeExit, type ChildService } from "./child-service.js";
import { DevConfigError, loadDevConfig, type DevConfig } from "./dev-config.js";
import { PortsBusyError, ServiceStartError, startDevStack, type DevStack } from "./dev-stack.js";
import { formatLogLine, formatPrefix } from "./log-format.js";
import { planStack } from "./stack-plan.js";
import { programOnPath } from "./program-on-path.js";
import { ensureDevSecrets } from "./dev-secrets.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

let config: DevConfig;
try {
  config = loadDevConfig(process.env, repoRoot);
} catch (err) {
  if (!(err instanceof DevConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}

if (config.coordinators > 1 && programOnPath("etcd") === undefined) {
  process.stderr.write(
    `BW_DEV_COORDINATORS=${config.coordinators} runs the coordinators on a local etcd, and etcd is not installed ` +
      "(Debian: apt-get install etcd-server)\n",
  );
  process.exit(2);
}

if (config.secure && programOnPath("openssl") === undefined) {
  process.stderr.write(
    "BW_DEV_TLS=1 makes its certificates with openssl, which is not installed (apt-get install openssl)\n",
  );
  process.exit(2);
}
const secrets = config.secure ? await ensureDevSecrets(path.join(config.dataDir, "secure")) : undefined;
const plan = planStack(config, repoRoot, process.env, secrets);
const colour = process.stdout.isTTY === true && !process.env["NO_COLOR"];
const nameWidth = Math.max(...plan.services.map((s) => s.name.length));
const say = (message: string): void =>
  void process.stdout.write(`${formatPrefix("dev", { colour, nameWidth })}${message}\n`);
const fail = (message: string): void =>
  void process.stderr.write(`${formatPrefix("dev", { colour, nameWidth })}error: ${message}\n`);

const starting = new AbortController();
let stack: DevStack | undefined;
let stopping = false;
/** Every service process spawned, for a last-resort kill. */
const children: ChildService[] = [];
const killAll = (): void => children.forEach((c) => c.kill());

async function shutdown(code: number): Promise<never> {
  stopping = true;
  await stack?.stop();
  process.exit(code);
}

// SIGHUP too: the services run in their own sessions, so a closed terminal
// reaches only this process, which must take them down with it.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (stopping) {
      fail(`second ${signal}: killing every service now`);
      killAll();
      process.exit(1);
    }
    say(`${signal} received: stopping`);
    if (stack === undefined) {
      stopping = true;
      starting.abort(); // startDevStack stops what it had started, then rejects
    } else void shutdown(0);
  });
}
// Whatever happens to this process, no service outlives it holding a port.
process.on("exit", killAll);

try {
  stack = await startDevStack({
    config,
    plan,
    env: process.env,
    cwd: repoRoot,
    signal: starting.signal,
    onSpawn: (child) => void children.push(child),
    onStatus: say,
    onOutput: (service, _stream, line) => {
      const text = formatLogLine(service, line, { level: config.logLevel, colour, nameWidth });
      if (text !== undefined) process.stdout.write(`${text}\n`);
    },
    onUnexpectedExit: (service, exit) => {
      if (stopping) return;
      if (config.coordinators > 1 && service.startsWith("breaker-coordinator-")) {
        // The point of several replicas: the others carry on and the sessions fail over to them.
        fail(`${service} ${describeExit(exit)}; the other coordinator replicas carry on`);
        return;
      }
      fail(`${service} ${describeExit(exit)} unexpectedly; stopping the other services`);
      void shutdown(1);
    },
  });
} catch (err) {
  if (err instanceof PortsBusyError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  if (err instanceof ServiceStartError) {
    if (err.reason === "aborted") process.exit(0);
    fail(err.message);
    process.exit(1);
  }
  throw err;
}

if (stopping) {
  // The signal came as the last service became healthy.
  await shutdown(0);
} else {
  process.stdout.write(
    renderBanner({
      endpoints: plan.endpoints,
      ports: config.ports,
      bucket: config.bucket,
      dataDir: displayPath(config.dataDir),
      secured: Boolean(process.env["BW_TOKENS_FILE"] || process.env["BW_ADMIN_TOKEN"]),
      mtls: secrets && {
        ca: displayPath(secrets.ca),
        cert: displayPath(secrets.operator.cert),
        key: displayPath(secrets.operator.key),
        adminToken: displayPath(secrets.adminTokenFile),
      },
    }),
  );
}

/** A path relative to the working directory when it lies inside it, else absolute. */
function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === "" ? "." : rel.startsWith("..") || path.isAbsolute(rel) ? p : rel;
}
