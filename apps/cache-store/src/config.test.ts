import { describe, expect, it } from "vitest";
import { ConfigError } from "@breakwater/server-kit";
import { advertisedAddress, loadCacheStoreConfig } from "./config.js";

function problemsOf(vars: Record<string, string>): readonly string[] {
  try {
    loadCacheStoreConfig(vars);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("the configuration was accepted");
}

describe("CACHE_STORE_PEERS", () => {
  it("defaults to no peers", () => {
    expect(loadCacheStoreConfig({}).CACHE_STORE_PEERS).toEqual([]);
    expect(loadCacheStoreConfig({ CACHE_STORE_PEERS: "" }).CACHE_STORE_PEERS).toEqual([]);
  });

  it("takes comma-separated http://host:port URLs (spaces and a trailing slash are fine)", () => {
    const config = loadCacheStoreConfig({
      CACHE_STORE_PEERS: " http://cache-2:50051, http://10.0.0.3:50051/ ,http://[::1]:7000",
    });
    expect(config.CACHE_STORE_PEERS).toEqual(["http://cache-2:50051", "http://10.0.0.3:50051", "http://[::1]:7000"]);
    expect(Object.isFrozen(config.CACHE_STORE_PEERS)).toBe(true);
  });

  it("names every bad entry in one problem", () => {
    const problems = problemsOf({
      CACHE_STORE_PEERS: "http://ok:1,cache-2:50051,ftp://tls:443,http://noport,http://h:70000,http://h:1/path",
    });
    expect(problems).toHaveLength(1);
    const [problem] = problems;
    expect(problem).toMatch(/^CACHE_STORE_PEERS=/);
    for (const bad of [
      "cache-2:50051 (expected",
      "ftp://tls:443 (expected",
      "http://noport (expected",
      "http://h:70000 (port must",
      "http://h:1/path (expected",
    ]) {
      expect(problem).toContain(bad);
    }
    expect(problem).not.toContain("http://ok:1 (");
  });

  it("takes https:// peers (TLS)", () => {
    expect(loadCacheStoreConfig({ CACHE_STORE_PEERS: "https://cache-2:50051" }).CACHE_STORE_PEERS).toEqual([
      "https://cache-2:50051",
    ]);
  });

  it("refuses a peer listed twice", () => {
    expect(problemsOf({ CACHE_STORE_PEERS: "http://a:1,http://A:1/" })[0]).toMatch(
      /listed more than once: http:\/\/a:1/,
    );
  });

  it("checks the backoff bounds, with the other problems", () => {
    expect(problemsOf({ CACHE_STORE_PEER_BACKOFF: "0", CACHE_STORE_PEER_MAX_BACKOFF: "50ms" })).toEqual([
      "CACHE_STORE_PEER_BACKOFF must be above 0",
    ]);
    expect(problemsOf({ CACHE_STORE_PEER_BACKOFF: "1s", CACHE_STORE_PEER_MAX_BACKOFF: "500ms" })).toEqual([
      "CACHE_STORE_PEER_MAX_BACKOFF must not be below CACHE_STORE_PEER_BACKOFF",
    ]);
    const config = loadCacheStoreConfig({});
    expect([config.CACHE_STORE_PEER_BACKOFF, config.CACHE_STORE_PEER_MAX_BACKOFF]).toEqual([100, 5_000]);
  });
});

describe("rules across variables (else enforced later by the cache's and S3 adapter's constructors)", () => {
  it("CACHE_MAX_OBJECT_BYTES must fit in CACHE_MAX_BYTES, naming both", () => {
    expect(problemsOf({ CACHE_MAX_BYTES: "2MiB" })).toEqual([
      "CACHE_MAX_OBJECT_BYTES (8388608) must not exceed CACHE_MAX_BYTES (2097152)",
    ]);
    const fits = loadCacheStoreConfig({ CACHE_MAX_BYTES: "2MiB", CACHE_MAX_OBJECT_BYTES: "2MiB" });
    expect(fits.CACHE_MAX_OBJECT_BYTES).toBe(2 * 1024 ** 2);
  });

  it("CACHE_MAX_STALE must not be shorter than CACHE_TTL", () => {
    expect(problemsOf({ CACHE_TTL: "2h" })).toEqual([
      "CACHE_MAX_STALE (3600000 ms) must not be shorter than CACHE_TTL (7200000 ms)",
    ]);
    expect(loadCacheStoreConfig({ CACHE_TTL: "1h" }).CACHE_TTL).toBe(3_600_000);
  });

  it("sizes and S3 timeout above 0, an S3 endpoint that is a URL, distinct ports: all listed at once", () => {
    expect(
      problemsOf({
        CACHE_MAX_BYTES: "0",
        CACHE_MAX_OBJECT_BYTES: "0",
        S3_REQUEST_TIMEOUT: "0",
        S3_ENDPOINT: "a b",
        CACHE_STORE_PORT: "7000",
        CACHE_STORE_HTTP_PORT: "7000",
      }),
    ).toEqual([
      "CACHE_MAX_BYTES must be above 0",
      "CACHE_MAX_OBJECT_BYTES must be above 0",
      "S3_REQUEST_TIMEOUT must be above 0",
      'S3_ENDPOINT (with S3_USE_SSL) gives "http://a b", not a URL',
      "CACHE_STORE_PORT and CACHE_STORE_HTTP_PORT must differ (both 7000)",
    ]);
    expect(loadCacheStoreConfig({ CACHE_STORE_PORT: "0", CACHE_STORE_HTTP_PORT: "0" }).CACHE_STORE_PORT).toBe(0);
  });
});

describe("CACHE_STORE_ADVERTISE_ADDRESS: the replica's name among the owners of keys", () => {
  const nameOf = (vars: Record<string, string>, port = 50051): string =>
    advertisedAddress(loadCacheStoreConfig(vars), port);

  it("is the bound port on 127.0.0.1 for a wildcard or loopback bind, the bound host otherwise", () => {
    expect(nameOf({}, 41234)).toBe("127.0.0.1:41234");
    for (const host of ["0.0.0.0", "::", "127.0.0.1", "localhost", "::1"]) {
      expect(nameOf({ CACHE_STORE_HOST: host, BW_INSECURE: "1" }, 7)).toBe("127.0.0.1:7");
    }
    expect(nameOf({ CACHE_STORE_HOST: "10.0.0.3", BW_INSECURE: "1" })).toBe("10.0.0.3:50051");
    expect(nameOf({ CACHE_STORE_HOST: "fd00::3", BW_INSECURE: "1" })).toBe("[fd00::3]:50051");
  });

  it("is the variable when set, as written", () => {
    expect(nameOf({ CACHE_STORE_ADVERTISE_ADDRESS: "cache-2:50051" }, 1)).toBe("cache-2:50051");
    expect(nameOf({ CACHE_STORE_ADVERTISE_ADDRESS: "[fd00::3]:7000" }, 1)).toBe("[fd00::3]:7000");
  });

  it("must be host:port; the hot cache's TTL above 0 while it is on", () => {
    expect(problemsOf({ CACHE_STORE_ADVERTISE_ADDRESS: "http://cache-2:50051" })).toEqual([
      expect.stringContaining("CACHE_STORE_ADVERTISE_ADDRESS"),
    ]);
    expect(problemsOf({ CACHE_STORE_ADVERTISE_ADDRESS: "cache-2" })).toHaveLength(1);
    expect(problemsOf({ CACHE_HOT_MAX_BYTES: "1MiB", CACHE_HOT_TTL: "0" })).toEqual([
      expect.stringContaining("CACHE_HOT_TTL"),
    ]);
    expect(loadCacheStoreConfig({ CACHE_HOT_MAX_BYTES: "0", CACHE_HOT_TTL: "0" }).CACHE_HOT_MAX_BYTES).toBe(0);
  });
});
