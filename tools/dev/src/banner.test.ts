import { describe, expect, it } from "vitest";
import { readyLine, renderBanner, table } from "./banner.js";
import { loadDevConfig } from "./dev-config.js";
import { planStack } from "./stack-plan.js";

describe("renderBanner", () => {
  it("lists every endpoint and the commands to try, on the default ports", () => {
    const config = loadDevConfig({}, "/repo");
    const banner = renderBanner({
      endpoints: planStack(config, "/repo").endpoints,
      ports: config.ports,
      bucket: "default",
      dataDir: ".data",
    });
    expect(banner).toContain(`${readyLine} (data in .data)`);
    const lines = banner.split("\n").map((l) => l.trim());
    expect(lines).toEqual(
      expect.arrayContaining([
        "curl -X PUT --data-binary @README.md http://127.0.0.1:8080/objects/default/hello.txt",
        "Live fleet page: http://127.0.0.1:9452/",
        "curl -i http://127.0.0.1:8080/objects/default/hello.txt",
        "grpcurl -plaintext 127.0.0.1:50051 list",
        `grpcurl -plaintext -d '{"bucket":"default","key":"hello.txt"}' ` +
          `127.0.0.1:50051 breakwater.cache.v1.CacheService/HeadObject`,
        "grpcurl -plaintext 127.0.0.1:50052 breakwater.breaker.v1.BreakerCoordinator/ListBreakers",
        "curl -s -H 'content-type: application/json' -d '{}' " +
          "http://127.0.0.1:9452/breakwater.breaker.v1.BreakerCoordinator/ListBreakers",
      ]),
    );
    for (const address of [
      "http://127.0.0.1:8080",
      "127.0.0.1:50051",
      "http://127.0.0.1:9451",
      "127.0.0.1:50052",
      "http://127.0.0.1:9452",
      "http://127.0.0.1:9000",
    ]) {
      expect(lines.some((l) => l.endsWith(` ${address}`))).toBe(true);
    }
  });

  it("uses the ports actually chosen", () => {
    const config = loadDevConfig({ BW_DEV_BASE_PORT: "41000" }, "/repo");
    const banner = renderBanner({
      endpoints: planStack(config, "/repo").endpoints,
      ports: config.ports,
      bucket: "default",
      dataDir: ".data",
    });
    expect(banner).toContain("curl -i http://127.0.0.1:41005/objects/default/hello.txt");
    expect(banner).toContain("grpcurl -plaintext 127.0.0.1:41003 list");
    expect(banner).not.toMatch(/:(8080|50051|50052|9451|9452|9000)\b/);
    expect(banner).toContain("To turn it on: BW_TOKENS_FILE=tokens.yaml");
  });
});

describe("table", () => {
  it("aligns columns under a rule", () => {
    expect(
      table([
        ["a", "bb"],
        ["ccc", "d"],
      ]),
    ).toEqual(["a    bb", "---  --", "ccc  d"]);
  });
});
