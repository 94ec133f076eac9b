import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";

/** Options of `findOrInstallCommand`. */
export interface DebianCommandOptions {
  /** The program, e.g. "nginx". */
  readonly command: string;
  /** The Debian package that ships it, e.g. "nginx". */
  readonly debianPackage: string;
  /** Progress lines (the install's outcome). */
  readonly log: (line: string) => void;
}

/** Where the command is, or why it is not there (a line saying how to install it). */
export type CommandLookup = { readonly path: string } | { readonly missing: string };

// Debian keeps daemons such as nginx in /usr/sbin, which a non-root PATH often lacks.
const alwaysSearched = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** The first executable `command` on PATH or in the system directories, or undefined. */
export function findCommand(command: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of [...path.split(":").filter((d) => d !== ""), ...alwaysSearched]) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a command to its end (bounded), answering its exit code and its output (stdout and stderr, the last 64 KiB). */
function run(
  file: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    let output = "";
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString("utf8")).slice(-65_536);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      resolve({ code: null, output: err.message });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.trim() });
    });
  });
}

/**
 * Finds a program the bench needs from Debian's packages (nginx, wrk). When
 * it is missing and this process is root on a machine with apt-get, installs
 * the package (`apt-get update` first only if a plain install fails, since
 * stale package lists are the usual reason); otherwise answers a line that
 * says how to install it, so the caller can skip what needs it.
 */
export async function findOrInstallCommand(options: DebianCommandOptions): Promise<CommandLookup> {
  const { command, debianPackage: pkg, log } = options;
  const found = findCommand(command);
  if (found !== undefined) return { path: found };
  const howTo = `install it with: sudo apt-get install ${pkg} (Debian/Ubuntu), then re-run`;
  const aptGet = findCommand("apt-get");
  if (aptGet === undefined) return { missing: `${command} is not installed and there is no apt-get here; ${howTo}` };
  if (process.getuid?.() !== 0)
    return { missing: `${command} is not installed and the bench is not root, so it cannot install it; ${howTo}` };
  log(`  ${command} not found: apt-get install ${pkg}`);
  // Wait for the dpkg lock rather than fail when another install is running.
  const install = ["-o", "DPkg::Lock::Timeout=120", "install", "-y", "--no-install-recommends", pkg];
  const tail = (output: string): string => output.split("\n").slice(-5).join("\n    ");
  let result = await run(aptGet, install, 300_000);
  if (result.code !== 0) {
    log(`  apt-get install ${pkg} failed (${result.output.split("\n").at(-1) ?? ""}); apt-get update, then once more`);
    await run(aptGet, ["-o", "DPkg::Lock::Timeout=120", "update"], 300_000);
    result = await run(aptGet, install, 300_000);
  }
  const installed = findCommand(command);
  if (installed !== undefined) {
    log(`  installed ${pkg}: ${installed}`);
    return { path: installed };
  }
  return {
    missing: `${command} is not installed and apt-get install ${pkg} failed:\n    ${tail(result.output)}\n  ${howTo}`,
  };
}

/** A program's own version line (e.g. `nginx -v`, `wrk -v`), whatever stream and exit code it uses for it. */
export async function versionLine(file: string, args: readonly string[]): Promise<string> {
  const { output } = await run(file, args, 10_000);
  return output.split("\n")[0]?.trim() || "unknown version";
}
