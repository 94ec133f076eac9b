import { describe, expect, it } from "vitest";
import { ConfigError } from "@breakwater/server-kit";
import { loadGatewayConfig } from "./config.js";

describe("loadGatewayConfig", () => {
  it("has defaults for everything, near-cache included", () => {
    const c = loadGatewayConfig({});
    expect(c.GATEWAY_PORT).toBe(8080);
    expect(c.GATEWAY_CACHE_MAX_BYTES).toBe(64 * 1024 ** 2);
    expect(c.GATEWAY_CACHE_MAX_OBJECT_BYTES).toBe(256 * 1024);
    expect(c.GATEWAY_CACHE_TTL).toBe(5_000);
    expect(c.GATEWAY_ROUTING).toBe("owner");
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads units and lists every problem, cross-field ones included", () => {
    expect(
      loadGatewayConfig({ GATEWAY_CACHE_MAX_BYTES: "0", GATEWAY_HEADERS_TIMEOUT: "1s" }).GATEWAY_HEADERS_TIMEOUT,
    ).toBe(1_000);
    try {
      loadGatewayConfig({
        GATEWAY_HEADERS_TIMEOUT: "10s",
        GATEWAY_REQUEST_TIMEOUT: "5s",
        GATEWAY_INVALIDATION_MAX_BACKOFF: "10ms",
        MAX_PUT_BYTES: "lots",
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join("\n");
      expect(problems).toMatch(/MAX_PUT_BYTES/);
    }
    try {
      loadGatewayConfig({
        GATEWAY_HEADERS_TIMEOUT: "10s",
        GATEWAY_REQUEST_TIMEOUT: "5s",
        GATEWAY_INVALIDATION_MAX_BACKOFF: "10ms",
      });
      expect.unreachable();
    } catch (err) {
      const problems = (err as ConfigError).problems;
      expect(problems).toHaveLength(2);
      expect(problems.join("\n")).toMatch(/GATEWAY_HEADERS_TIMEOUT must not exceed GATEWAY_REQUEST_TIMEOUT/);
      expect(problems.join("\n")).toMatch(/GATEWAY_INVALIDATION_MAX_BACKOFF/);
    }
    // No request timeout at all: any headers timeout will do.
    expect(
      loadGatewayConfig({ GATEWAY_REQUEST_TIMEOUT: "0", GATEWAY_HEADERS_TIMEOUT: "60s" }).GATEWAY_REQUEST_TIMEOUT,
    ).toBe(0);
  });

  it("GATEWAY_ROUTING is owner or round-robin, nothing else", () => {
    expect(loadGatewayConfig({ GATEWAY_ROUTING: "round-robin" }).GATEWAY_ROUTING).toBe("round-robin");
    expect(() => loadGatewayConfig({ GATEWAY_ROUTING: "hash" })).toThrow(/GATEWAY_ROUTING/);
  });
});
