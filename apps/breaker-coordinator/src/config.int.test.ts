import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runServiceToExit } from "@breakwater/testkit";

describe("breaker-coordinator: a configuration that cannot work exits 2 naming the variables", () => {
  it("one port for gRPC and HTTP", async () => {
    const env = { COORDINATOR_PORT: "50998", COORDINATOR_HTTP_PORT: "50998" };
    const { code, output } = await runServiceToExit("breaker-coordinator", env);
    expect(code).toBe(2);
    expect(output).toContain("COORDINATOR_PORT and COORDINATOR_HTTP_PORT must differ (both 50998)");
    expect(output).not.toMatch(/\n\s+at /); // no stack
  });

  it("a BREAKER_CONFIG whose max_open_timeout is below its open_timeout", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bw-config-"));
    try {
      writeFileSync(join(dir, "breakers.yaml"), "defaults:\n  open_timeout: 10m\n  max_open_timeout: 1m\n");
      const env = { BREAKER_CONFIG: join(dir, "breakers.yaml"), COORDINATOR_STATE_FILE: join(dir, "state.json") };
      const { code, output } = await runServiceToExit("breaker-coordinator", { COORDINATOR_PORT: "0", ...env });
      expect(code).toBe(2);
      expect(output).toContain("defaults.max_open_timeout: must be ≥ open timeout (600000 ms), got 60000 ms");
      expect(output).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("etcd endpoints that are not URLs, and a lease etcd would not grant", async () => {
    const env = {
      COORDINATOR_PORT: "0",
      COORDINATOR_ETCD_ENDPOINTS: "127.0.0.1:2379",
    };
    const bad = await runServiceToExit("breaker-coordinator", env);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("COORDINATOR_ETCD_ENDPOINTS");
    const short = await runServiceToExit("breaker-coordinator", {
      ...env,
      COORDINATOR_ETCD_ENDPOINTS: "http://127.0.0.1:2379",
      COORDINATOR_ETCD_LEASE_TTL: "1s",
    });
    expect(short.code).toBe(2);
    expect(short.output).toContain("COORDINATOR_ETCD_LEASE_TTL must be at least 2s");
    expect(short.output).not.toMatch(/\n\s+at /);
  });
});
