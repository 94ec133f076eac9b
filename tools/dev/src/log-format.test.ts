import { describe, expect, it } from "vitest";
import { formatLogLine } from "./log-format.js";

const plain = { level: "info", colour: false, nameWidth: 11 } as const;

describe("formatLogLine", () => {
  it("shows a pino line as level, message and the fields that matter", () => {
    const line = JSON.stringify({
      level: 30,
      time: "2025-01-01T00:00:00.000Z",
      pid: 1,
      hostname: "h",
      service: "cache-store",
      msg: "listening",
      grpcPort: 50051,
      note: "two words",
    });
    expect(formatLogLine("cache-store", line, plain)).toBe(
      'cache-store | INFO  listening grpcPort=50051 note="two words"',
    );
  });

  it("prints lines that are not JSON as they came", () => {
    expect(formatLogLine("gateway", "error: port 8080 in use", plain)).toBe("gateway     | error: port 8080 in use");
    expect(formatLogLine("gateway", "{not json", plain)).toBe("gateway     | {not json");
  });

  it("drops lines below LOG_LEVEL but never lines it cannot read", () => {
    const debug = JSON.stringify({ level: 20, msg: "detail" });
    expect(formatLogLine("gateway", debug, plain)).toBeUndefined();
    expect(formatLogLine("gateway", debug, { ...plain, level: "debug" })).toBe("gateway     | DEBUG detail");
    expect(formatLogLine("gateway", "plain", { ...plain, level: "silent" })).toBe("gateway     | plain");
  });

  it("shows an error's message, and its stack at error level", () => {
    const err = { type: "Error", message: "boom", stack: "Error: boom\n    at f (a.js:1:1)" };
    expect(formatLogLine("gateway", JSON.stringify({ level: 40, msg: "retrying", err }), plain)).toBe(
      'gateway     | WARN  retrying err="boom"',
    );
    expect(formatLogLine("gateway", JSON.stringify({ level: 50, msg: "failed", err }), plain)).toBe(
      'gateway     | ERROR failed err="boom"\n              at f (a.js:1:1)',
    );
  });

  it("colours only when asked", () => {
    const out = formatLogLine("gateway", JSON.stringify({ level: 30, msg: "hi" }), { ...plain, colour: true })!;
    expect(out).toContain("\x1b[");
    expect(out.replace(/\x1b\[[0-9;]*m/g, "")).toBe("gateway     | INFO  hi");
  });
});
