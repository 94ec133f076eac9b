import { execFile } from "node:child_process";

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** The child's environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Longest the command may run; a guard against a hang, not a target (default 5 min). */
  readonly timeoutMs?: number;
}

/** A command that exited non-zero, with what it printed on stderr. */
export class CommandFailedError extends Error {
  readonly commandFailed = true;
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${exitCode ?? "by signal"}): ${stderr.trim().split("\n").slice(-5).join(" | ")}`);
    this.name = "CommandFailedError";
  }
}

/** Runs a program (no shell) and answers its stdout, trimmed; a non-zero exit throws {@link CommandFailedError}. */
export function runCommand(program: string, args: readonly string[], options: RunCommandOptions = {}): Promise<string> {
  const shown = [program, ...args].join(" ");
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err === null) return resolve(stdout.trim());
        const code = typeof err.code === "number" ? err.code : null;
        reject(new CommandFailedError(shown, code, stderr || err.message));
      },
    );
  });
}
