import { describe, expect, it } from "vitest";
import { runServiceToExit } from "@breakwater/testkit";

describe("breaker-coordinator: a configuration that cannot work exits 2 naming the variables", () => {
  it("one port for gRPC and HTTP", async () => {
    const env = { COORDINATOR_PORT: "50998", COORDINATOR_HTTP_PORT: "50998" };
    const { code, output } = await runServiceToExit("breaker-coordinator", env);
    expect(code).toBe(2);
    expect(output).toContain("COORDINATOR_PORT and COORDINATOR_HTTP_PORT must differ (both 50998)");
    expect(output).not.toMatch(/\n\s+at /); // no stack
  });
});
