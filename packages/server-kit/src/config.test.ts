import { describe, expect, it } from "vitest";
import { commonConfig, ConfigError, env, loadConfig, parseAddressList, parseBytes, parseDurationMs } from "./config.js";

const schema = {
  PORT: env.port(50051, "gRPC port"),
  MAX: env.bytes(100 * 1024 * 1024, "cache bound"),
  TTL: env.durationMs(300_000, "freshness"),
  URLS: env.urlList(["http://127.0.0.1:50051"], "upstreams"),
  SSL: env.bool(false, "use TLS"),
  TOKEN: env.string("", "admin token"),
};

describe("loadConfig", () => {
  it("applies defaults and freezes", () => {
    const c = loadConfig(schema, {});
    expect(c).toEqual({
      PORT: 50051,
      MAX: 104857600,
      TTL: 300_000,
      URLS: ["http://127.0.0.1:50051"],
      SSL: false,
      TOKEN: "",
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("parses values", () => {
    const c = loadConfig(schema, { PORT: "0", MAX: "8MiB", TTL: "30s", URLS: "http://a:1, http://b:2/", SSL: "true" });
    expect(c).toMatchObject({
      PORT: 0,
      MAX: 8 * 1024 * 1024,
      TTL: 30_000,
      URLS: ["http://a:1", "http://b:2"],
      SSL: true,
    });
  });

  it("lists every problem at once, naming each variable", () => {
    try {
      loadConfig(schema, { PORT: "70000", MAX: "lots", TTL: "soon", URLS: "ftp://x", SSL: "maybe" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems;
      expect(problems).toHaveLength(5);
      expect(problems.map((p) => p.split("=")[0])).toEqual(["PORT", "MAX", "TTL", "URLS", "SSL"]);
      expect((err as ConfigError).message).toContain('PORT="70000": must be between 0 and 65535');
    }
  });

  it("reads sizes and durations in their usual units", () => {
    expect(parseBytes("64KiB")).toBe(65536);
    expect(parseBytes("1GB")).toBe(1e9);
    expect(parseDurationMs("250ms")).toBe(250);
    expect(parseDurationMs("5m")).toBe(300_000);
    expect(parseDurationMs("1500")).toBe(1500);
    expect(() => parseDurationMs("-1s")).toThrow();
  });
});

describe("address lists (COORDINATOR_URL, CACHE_STORE_URLS)", () => {
  it("reads one address or several, comma-separated, trimmed, trailing slashes dropped", () => {
    expect(parseAddressList("http://127.0.0.1:50052")).toEqual(["http://127.0.0.1:50052"]);
    expect(parseAddressList(" http://c1:50052/, https://c2:50052 ,http://[::1]:50052,")).toEqual([
      "http://c1:50052",
      "https://c2:50052",
      "http://[::1]:50052",
    ]);
  });

  it("names every bad entry in one message", () => {
    expect(() => parseAddressList("http://ok:1, c2:50052, ftp://c3:1, http://c4:1/session, http://u:p@c5:1")).toThrow(
      '"c2:50052" must be an http:// or https:// URL; "ftp://c3:1" must be an http:// or https:// URL; ' +
        '"http://c4:1/session" must be a bare address (no path or query); "http://u:p@c5:1" must not carry credentials',
    );
    expect(() => parseAddressList("http://c1:1, http://c1:1/")).toThrow('"http://c1:1/" is listed twice');
    expect(() => parseAddressList("http://, http://[bad")).toThrow('"http://" is not a URL');
    expect(() => parseAddressList(" , ")).toThrow("needs at least one URL");
  });

  it("COORDINATOR_URL is a list in every service's config, a bad entry a ConfigError naming the variable", () => {
    expect(loadConfig(commonConfig, {}).COORDINATOR_URL).toEqual(["http://127.0.0.1:50052"]);
    expect(loadConfig(commonConfig, { COORDINATOR_URL: "http://c1:50052,http://c2:50052" }).COORDINATOR_URL).toEqual([
      "http://c1:50052",
      "http://c2:50052",
    ]);
    expect(() => loadConfig(commonConfig, { COORDINATOR_URL: "http://c1:50052,c2" })).toThrow(
      /COORDINATOR_URL="http:\/\/c1:50052,c2": "c2" is not a URL/,
    );
  });
});
