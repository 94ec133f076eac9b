import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthV1 } from "@breakwater/proto";
import { createGrpcClient } from "@breakwater/server-kit";
import { createReflectionClient } from "@breakwater/server-kit/testing";
import { eventually, runServiceToExit, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";

const { HealthCheckResponse_ServingStatus: Serving } = healthV1;

describe("breaker-coordinator process", () => {
  let coordinator: ServiceProcess;
  beforeAll(async () => {
    coordinator = await startServiceProcess("breaker-coordinator", {
      env: { COORDINATOR_STATE_FILE: `${process.env.TMPDIR ?? "/tmp"}/bw-coord-${process.pid}.json` },
    });
  });
  afterAll(async () => {
    await coordinator?.stop("SIGKILL");
  });

  for (const version of ["v1", "v1alpha"] as const) {
    it(`lists its services by reflection ${version} and answers ListBreakers through it`, async () => {
      const reflection = createReflectionClient(coordinator.grpcAddress, version);
      try {
        expect((await reflection.listServices()).sort()).toEqual([
          "breakwater.breaker.v1.BreakerCoordinator",
          "grpc.health.v1.Health",
        ]);
        const files = await reflection.fileContainingSymbol("breakwater.breaker.v1.BreakerCoordinator");
        expect(files.map((f) => f.name)).toContain("breakwater/breaker/v1/coordinator.proto");
        expect(await reflection.invokeJson("breakwater.breaker.v1.BreakerCoordinator", "ListBreakers", {})).toEqual({});
      } finally {
        reflection.close();
      }
    });
  }

  it("answers Connect JSON on its HTTP port (what curl sends)", async () => {
    const res = await fetch(`${coordinator.httpUrl}/breakwater.breaker.v1.BreakerCoordinator/ListBreakers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
  });
});

describe("breaker-coordinator lifecycle", () => {
  it("exits 2 naming every bad variable", async () => {
    const { code, output } = await runServiceToExit("breaker-coordinator", {
      COORDINATOR_PORT: "port",
      COORDINATOR_HTTP_PORT: "70000",
    });
    expect(code).toBe(2);
    expect(output).toContain("COORDINATOR_PORT");
    expect(output).toContain("COORDINATOR_HTTP_PORT");
  });

  it("reports SERVING, then NOT_SERVING on SIGTERM, and exits 0", async () => {
    const p = await startServiceProcess("breaker-coordinator", {
      env: { COORDINATOR_STATE_FILE: `${process.env.TMPDIR ?? "/tmp"}/bw-coord-life-${process.pid}.json` },
    });
    const health = createGrpcClient(healthV1.Health, p.grpcAddress);
    try {
      expect((await health.check({ service: "" })).status).toBe(Serving.SERVING);
      const seen: number[] = [];
      const watching = (async () => {
        for await (const m of health.watch({ service: "" })) seen.push(m.status);
      })().catch(() => undefined);
      await eventually(() => seen.length === 1, { what: "the first health watch answer" });
      expect(await p.stop("SIGTERM")).toBe(0);
      await watching;
      expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
    } finally {
      health.close();
      await p.stop("SIGKILL");
    }
  });
});
