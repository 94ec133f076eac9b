import { eventually } from "@breakwater/testkit";
import { describe, expect, it } from "vitest";
import { describeExit, startChildService } from "./child-service.js";

/** A node child running `script`, its lines collected. */
function child(script: string) {
  const lines: string[] = [];
  const service = startChildService({
    name: "test",
    command: process.execPath,
    args: ["-e", script],
    env: process.env,
    cwd: process.cwd(),
    onLine: (stream, line) => lines.push(`${stream}: ${line}`),
  });
  return { service, lines };
}

describe("startChildService", () => {
  it("hands over every line of stdout and stderr before it reports the exit", async () => {
    const { service, lines } = child(`console.log("a\\nb"); console.error("c"); process.exitCode = 3;`);
    const exit = await service.exited;
    expect(exit).toEqual({ code: 3, signal: null });
    expect(lines.filter((l) => l.startsWith("stdout"))).toEqual(["stdout: a", "stdout: b"]);
    expect(lines).toContain("stderr: c");
    expect(service.done).toBe(true);
    expect(service.stopping).toBe(false);
  });

  it("stops a child with SIGTERM and lets it finish", async () => {
    const { service, lines } = child(
      `process.on("SIGTERM", () => { console.log("bye"); process.exit(0); }); ` +
        `console.log("up"); setInterval(() => {}, 1000);`,
    );
    await eventually(() => lines.includes("stdout: up"), { timeoutMs: 10_000, what: 'the child\'s "up" line' });
    const exit = await service.stop(5_000);
    expect(exit).toMatchObject({ code: 0, signal: null, forced: false });
    expect(lines).toContain("stdout: bye");
    expect(service.stopping).toBe(true);
  });

  it("kills a child that ignores SIGTERM once the grace is over", async () => {
    const { service, lines } = child(
      `process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000);`,
    );
    await eventually(() => lines.includes("stdout: up"), { timeoutMs: 10_000, what: 'the child\'s "up" line' });
    const exit = await service.stop(200);
    expect(exit).toMatchObject({ signal: "SIGKILL", forced: true });
  });

  it("reports a command that cannot be started", async () => {
    const service = startChildService({
      name: "missing",
      command: "/nonexistent/binary",
      args: [],
      env: process.env,
      cwd: process.cwd(),
      onLine: () => undefined,
    });
    const exit = await service.exited;
    expect(describeExit(exit)).toMatch(/^could not be started \(.*ENOENT/);
  });
});

describe("describeExit", () => {
  it("says how a process ended", () => {
    expect(describeExit({ code: 1, signal: null })).toBe("exited with code 1");
    expect(describeExit({ code: null, signal: "SIGKILL" })).toBe("was ended by SIGKILL");
  });
});
