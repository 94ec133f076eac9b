import { describe, expect, it } from "vitest";
import { DevConfigError, loadDevConfig } from "./dev-config.js";

describe("loadDevConfig", () => {
  it("uses design.md's ports when nothing is set", () => {
    const c = loadDevConfig({}, "/repo");
    expect(c.ports).toEqual({
      s3: 9000,
      coordinatorGrpc: 50052,
      coordinatorHttp: 9452,
      cacheStoreGrpc: 50051,
      cacheStoreHttp: 9451,
      gateway: 8080,
      etcdClient: 2379,
      etcdPeer: 2380,
    });
    expect(c.coordinators).toBe(1);
    expect(c.dataDir).toBe("/repo/.data");
    expect(c.bucket).toBe("default");
    expect(c.logLevel).toBe("info");
    expect(c.stopGraceMs).toBe(15_000);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("moves every port with BW_DEV_BASE_PORT, and one port with its own variable", () => {
    const c = loadDevConfig({ BW_DEV_BASE_PORT: "41000", GATEWAY_PORT: "42000" }, "/repo");
    expect(c.ports).toEqual({
      s3: 41000,
      coordinatorGrpc: 41001,
      coordinatorHttp: 41002,
      cacheStoreGrpc: 41003,
      cacheStoreHttp: 41004,
      gateway: 42000,
      etcdClient: 41006,
      etcdPeer: 41007,
    });
  });

  it("resolves BW_DEV_DATA_DIR against the repository root", () => {
    expect(loadDevConfig({ BW_DEV_DATA_DIR: "tmp/d" }, "/repo").dataDir).toBe("/repo/tmp/d");
    expect(loadDevConfig({ BW_DEV_DATA_DIR: "/abs" }, "/repo").dataDir).toBe("/abs");
  });

  it("BW_DEV_COORDINATORS: replicas 10 ports apart, checked against the other ports", () => {
    expect(loadDevConfig({ BW_DEV_COORDINATORS: "3" }, "/repo").coordinators).toBe(3);
    expect(() => loadDevConfig({ BW_DEV_COORDINATORS: "10" }, "/repo")).toThrow(
      'BW_DEV_COORDINATORS="10": must be a whole number between 1 and 9',
    );
    // Replica 2's gRPC port would be 50062: taken by the gateway here.
    expect(() => loadDevConfig({ BW_DEV_COORDINATORS: "2", GATEWAY_PORT: "50062" }, "/repo")).toThrow(
      "port 50062 is given to both GATEWAY_PORT and coordinator replica 2's gRPC port",
    );
  });

  it("BW_DEV_TLS: 1 or 0", () => {
    expect(loadDevConfig({}, "/repo").secure).toBe(false);
    expect(loadDevConfig({ BW_DEV_TLS: "1" }, "/repo").secure).toBe(true);
    expect(() => loadDevConfig({ BW_DEV_TLS: "yes please" }, "/repo")).toThrow(
      'BW_DEV_TLS="yes please": must be 1 or 0',
    );
  });

  it("lists every problem at once", () => {
    let error: unknown;
    try {
      loadDevConfig(
        { BW_DEV_BASE_PORT: "x", CACHE_STORE_PORT: "70000", LOG_LEVEL: "loud", GATEWAY_PORT: "9000" },
        "/repo",
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DevConfigError);
    expect((error as DevConfigError).problems).toEqual([
      'BW_DEV_BASE_PORT="x": must be a whole number between 1 and 65528',
      'CACHE_STORE_PORT="70000": must be a whole number between 1 and 65535',
      "port 9000 is given to both BW_DEV_S3_PORT and GATEWAY_PORT",
      'LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });
});
