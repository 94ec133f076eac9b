import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startChildServer } from "./child-server.js";

// The built echo server (run `npx tsc -b tools/bench` first).
const script = fileURLToPath(new URL("../dist/echo-server.js", import.meta.url));

describe("startChildServer", () => {
  it("reports the port and CPU of a server, and stop() ends it by pid", async () => {
    const server = await startChildServer({ name: "bare", script, args: ["--kind=bare"] });
    expect(server.port).toBeGreaterThan(0);
    const before = await server.cpuMicros();
    expect(await server.cpuMicros()).toBeGreaterThanOrEqual(before);
    await server.stop();
    await server.stop(); // idempotent
    expect(() => process.kill(server.pid, 0)).toThrow(/ESRCH/);
    await expect(server.cpuMicros()).rejects.toThrow(/gone/);
  });

  it("rejects with the child's last output when it exits before listening", async () => {
    await expect(startChildServer({ name: "odd", script, args: ["--kind=odd"] })).rejects.toThrow(
      /odd server exited before it listened \(code 2\)\n\s+usage: echo-server.js --kind=kit\|mount\|bare/,
    );
  });
});
