import { describe, expect, it } from "vitest";
import { isBreakerConfigError } from "./breaker-config-error.js";
import { parseBreakerConfigFile } from "./config-file.js";
import { defaultBreakerConfig } from "./config.js";

function problemsOf(text: string): readonly string[] {
  try {
    parseBreakerConfigFile(text);
  } catch (e) {
    if (isBreakerConfigError(e)) return e.problems;
    throw e;
  }
  throw new Error("expected a BreakerConfigError");
}

describe("parseBreakerConfigFile", () => {
  it("gives design.md's defaults for an empty file", () => {
    expect(parseBreakerConfigFile("").resolveConfig("s3:any")).toBe(defaultBreakerConfig);
    expect(parseBreakerConfigFile("# nothing\n").defaults).toBe(defaultBreakerConfig);
  });

  it("layers defaults, prefix patterns (shortest first) and exact names", () => {
    const set = parseBreakerConfigFile(`
defaults:
  open_timeout: 10s
  minimum_requests: 4
backends:
  "s3:*":
    minimum_requests: 20
    window: 2m
  "s3:http://minio*":
    consecutive_failures: 7
  "s3:http://minio:9000":
    failure_rate_threshold: 0.3
    slow_call_ms: 500ms
  "cache-store:a:1":
    max_open_timeout: 90000
`);
    const exact = set.resolveConfig("s3:http://minio:9000");
    expect(exact).toMatchObject({
      openTimeoutMs: 10_000,
      minimumRequests: 20,
      windowMs: 120_000,
      consecutiveFailures: 7,
      failureRateThreshold: 0.3,
      slowCallMs: 500,
    });
    expect(Object.isFrozen(exact)).toBe(true);
    expect(set.resolveConfig("s3:http://minio:9000")).toBe(exact);
    expect(set.resolveConfig("s3:http://other")).toMatchObject({ minimumRequests: 20, consecutiveFailures: 5 });
    expect(set.resolveConfig("cache-store:a:1").maxOpenTimeoutMs).toBe(90_000);
    expect(set.resolveConfig("cache-store:b:1")).toBe(set.defaults);
    expect(set.defaults.minimumRequests).toBe(4);
  });

  it("lets an override turn slow-call tripping back off with null", () => {
    const set = parseBreakerConfigFile(`
defaults: { slow_call_ms: 2s }
backends: { "s3:x": { slow_call_ms: null } }
`);
    expect(set.defaults.slowCallMs).toBe(2_000);
    expect(set.resolveConfig("s3:x").slowCallMs).toBeUndefined();
  });

  it("lists every problem at once, each with its path", () => {
    const problems = problemsOf(`
defaults:
  open_timeout: soon
  minimum_requests: 0
  colour: blue
backends:
  "s3:x":
    failure_rate_threshold: 2
    quorum_fraction: "half"
  "a*b": {}
  "cache-store:y": 12
extra: true
`);
    expect(problems).toEqual([
      'extra: unknown section (expected "defaults" or "backends")',
      'defaults.open_timeout: must be a duration such as "500ms", "30s" or "5m", got "soon"',
      "defaults.minimum_requests: must be an integer ≥ 1, got 0",
      "defaults.colour: unknown setting",
      'backends["s3:x"].failure_rate_threshold: must be between 0 and 1, got 2',
      'backends["s3:x"].quorum_fraction: must be a number, got "half"',
      'backends["a*b"]: only a trailing "*" is supported in a pattern',
      'backends["cache-store:y"]: must be a mapping of settings, got 12',
    ]);
  });

  it("checks rules that tie fields together on what each entry resolves to", () => {
    expect(
      problemsOf(`
defaults: { max_open_timeout: 1m }
backends:
  "s3:*": { open_timeout: 2m }
  "s3:ok": { open_timeout: 30s }
  "gw:a": { detach_after: 1s }
`),
    ).toEqual([
      'backends["s3:*"].max_open_timeout: must be ≥ open timeout (120000 ms), got 60000 ms',
      'backends["gw:a"].detach_after: must be longer than the heartbeat interval (1000 ms), got 1000 ms',
    ]);
  });

  it("reports YAML syntax errors and a root that is not a mapping", () => {
    expect(problemsOf("defaults: [1, 2")[0]).toMatch(/^yaml: /);
    expect(problemsOf("- 1\n- 2\n")).toEqual(['(root): must be a mapping with "defaults" and "backends", got a list']);
  });

  it("says how many problems in its message", () => {
    expect(() => parseBreakerConfigFile("defaults: { open_jitter: 3 }")).toThrow(
      "invalid breaker config (1 problem):\n  - defaults.open_jitter: must be ≥ 0 and < 1, got 3",
    );
  });
});
