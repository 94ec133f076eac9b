import { describe, expect, it } from "vitest";
import { runServiceToExit } from "@breakwater/testkit";

/**
 * Every rule across variables, at the process level: a configuration error
 * (exit 2) naming the variables, never a constructor's RangeError and a stack.
 */
describe("gateway: a configuration that cannot work exits 2 naming the variables", () => {
  const cases: [string, Record<string, string>, string[]][] = [
    ["a near-cache bound too small for one entry", { GATEWAY_CACHE_MAX_BYTES: "100" }, ["GATEWAY_CACHE_MAX_BYTES"]],
    [
      "headers timeout over the request timeout",
      { GATEWAY_HEADERS_TIMEOUT: "10s", GATEWAY_REQUEST_TIMEOUT: "5s" },
      ["GATEWAY_HEADERS_TIMEOUT", "GATEWAY_REQUEST_TIMEOUT"],
    ],
    [
      "invalidation max backoff below the first",
      { GATEWAY_INVALIDATION_BACKOFF: "1s", GATEWAY_INVALIDATION_MAX_BACKOFF: "500ms" },
      ["GATEWAY_INVALIDATION_MAX_BACKOFF", "GATEWAY_INVALIDATION_BACKOFF"],
    ],
    ["a near-cache with no TTL", { GATEWAY_CACHE_TTL: "0" }, ["GATEWAY_CACHE_TTL"]],
  ];
  it.each(cases)("%s", async (_what, env, names) => {
    const base = { GATEWAY_PORT: "0", COORDINATOR_URL: "http://127.0.0.1:1" };
    const { code, output } = await runServiceToExit("gateway", { ...base, ...env });
    expect(code).toBe(2);
    expect(output).toContain("invalid configuration:");
    for (const name of names) expect(output).toContain(name);
    expect(output).not.toContain("RangeError");
    expect(output).not.toMatch(/\n\s+at /); // no stack
  });
});
