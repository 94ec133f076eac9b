import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { findBusyPorts, isPortFree, portInUseMessage } from "./ports.js";
import type { PlannedPort } from "./stack-plan.js";

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function hold(host: string): Promise<number> {
  const server = net.createServer();
  servers.push(server);
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port)));
}

const planned = (port: number, host = "0.0.0.0"): PlannedPort => ({
  port,
  host,
  service: "cache-store",
  role: "gRPC",
  variable: "CACHE_STORE_PORT",
});

describe("port check", () => {
  it("names the port, the service and the variable that moves it, on one line", () => {
    const line = portInUseMessage(planned(50051));
    expect(line).toBe(
      "error: port 50051 (cache-store gRPC) is already in use; stop the process holding it, " +
        "or set CACHE_STORE_PORT (or BW_DEV_BASE_PORT to move them all)",
    );
    expect(line).not.toContain("\n");
  });

  it("sees a port held on loopback when the service binds every interface", async () => {
    const port = await hold("127.0.0.1");
    expect(await isPortFree(port, "0.0.0.0")).toBe(false);
  });

  it("sees a port held on every interface when the service binds loopback", async () => {
    const port = await hold("0.0.0.0");
    expect(await isPortFree(port, "127.0.0.1")).toBe(false);
  });

  it("reports only the busy ones, in plan order, and leaves free ones free", async () => {
    const busy = await hold("0.0.0.0");
    const free = await hold("0.0.0.0");
    await new Promise((r) => servers.pop()!.close(r));
    const found = await findBusyPorts([planned(free), planned(busy)]);
    expect(found.map((p) => p.port)).toEqual([busy]);
    expect(await isPortFree(free, "0.0.0.0")).toBe(true);
  });
});
