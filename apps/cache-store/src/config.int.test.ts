import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runServiceToExit } from "@breakwater/testkit";

/** A BREAKER_CONFIG whose max open time is below its open time (checked by the breaker package). */
const dir = mkdtempSync(join(tmpdir(), "bw-config-"));
const breakers = join(dir, "breakers.yaml");
writeFileSync(breakers, "defaults:\n  open_timeout: 10m\n  max_open_timeout: 1m\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Every rule across variables, at the process level: a configuration error
 * (exit 2) naming the variables, never a constructor's RangeError and a stack.
 */
describe("cache-store: a configuration that cannot work exits 2 naming the variables", () => {
  const cases: [string, Record<string, string>, string[]][] = [
    [
      "CACHE_MAX_BYTES=2MiB with the default CACHE_MAX_OBJECT_BYTES",
      { CACHE_MAX_BYTES: "2MiB" },
      ["CACHE_MAX_OBJECT_BYTES (8388608) must not exceed CACHE_MAX_BYTES (2097152)"],
    ],
    ["CACHE_TTL longer than the default CACHE_MAX_STALE", { CACHE_TTL: "2h" }, ["CACHE_MAX_STALE", "CACHE_TTL"]],
    ["CACHE_MAX_BYTES=0", { CACHE_MAX_BYTES: "0" }, ["CACHE_MAX_BYTES must be above 0"]],
    ["S3_REQUEST_TIMEOUT=0", { S3_REQUEST_TIMEOUT: "0" }, ["S3_REQUEST_TIMEOUT must be above 0"]],
    ["an S3_ENDPOINT that makes no URL", { S3_ENDPOINT: "a b" }, ["S3_ENDPOINT"]],
    [
      "a peer max backoff below the first",
      { CACHE_STORE_PEER_BACKOFF: "1s", CACHE_STORE_PEER_MAX_BACKOFF: "500ms" },
      ["CACHE_STORE_PEER_MAX_BACKOFF must not be below CACHE_STORE_PEER_BACKOFF"],
    ],
    [
      "breaker max_open_timeout below open_timeout",
      { BREAKER_CONFIG: breakers },
      ["max_open_timeout: must be ≥ open timeout"],
    ],
    [
      "one port for gRPC and HTTP",
      { CACHE_STORE_PORT: "50999", CACHE_STORE_HTTP_PORT: "50999" },
      ["CACHE_STORE_PORT and CACHE_STORE_HTTP_PORT must differ"],
    ],
  ];
  it.each(cases)("%s", async (_what, env, names) => {
    const ports = { CACHE_STORE_PORT: "0", CACHE_STORE_HTTP_PORT: "0" };
    const { code, output } = await runServiceToExit("cache-store", { ...ports, ...env });
    expect(code).toBe(2);
    expect(output).toContain("invalid configuration:");
    for (const name of names) expect(output).toContain(name);
    expect(output).not.toContain("RangeError");
    expect(output).not.toMatch(/\n\s+at /); // no stack
  });
});
