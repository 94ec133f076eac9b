import { describe, expect, it } from "vitest";
import { loadDevConfig } from "./dev-config.js";
import { planStack } from "./stack-plan.js";

describe("planStack", () => {
  const config = loadDevConfig({ BW_DEV_BASE_PORT: "41000", BW_DEV_DATA_DIR: "/data" }, "/repo");
  const plan = planStack(config, "/repo");

  it("starts coordinator, cache-store, gateway in that order from their built entry points", () => {
    expect(plan.services.map((s) => [s.name, s.main, s.healthUrl])).toEqual([
      ["breaker-coordinator", "/repo/apps/breaker-coordinator/dist/main.js", "http://127.0.0.1:41002/healthz"],
      ["cache-store", "/repo/apps/cache-store/dist/main.js", "http://127.0.0.1:41004/healthz"],
      ["gateway", "/repo/apps/gateway/dist/main.js", "http://127.0.0.1:41005/healthz"],
    ]);
  });

  it("wires each service to the others and the embedded S3", () => {
    const [coordinator, cacheStore, gateway] = plan.services;
    expect(coordinator!.env).toEqual({
      LOG_LEVEL: "info",
      COORDINATOR_URL: "http://127.0.0.1:41001",
      COORDINATOR_PORT: "41001",
      COORDINATOR_HTTP_PORT: "41002",
      COORDINATOR_STATE_FILE: "/data/coordinator-state.json",
    });
    expect(cacheStore!.env).toEqual({
      LOG_LEVEL: "info",
      COORDINATOR_URL: "http://127.0.0.1:41001",
      CACHE_STORE_PORT: "41003",
      CACHE_STORE_HTTP_PORT: "41004",
      S3_ENDPOINT: "http://127.0.0.1:41000",
      S3_ACCESS_KEY: "S3RVER",
      S3_SECRET_KEY: "S3RVER",
      S3_REGION: "us-east-1",
    });
    expect(gateway!.env).toEqual({
      LOG_LEVEL: "info",
      COORDINATOR_URL: "http://127.0.0.1:41001",
      GATEWAY_PORT: "41005",
      CACHE_STORE_URLS: "http://127.0.0.1:41003",
    });
  });

  it("keeps a COORDINATOR_STATE_FILE that was set", () => {
    const p = planStack(config, "/repo", { COORDINATOR_STATE_FILE: "/elsewhere.json" });
    expect(p.services[0]!.env["COORDINATOR_STATE_FILE"]).toBe("/elsewhere.json");
  });

  it("checks six ports: S3 on loopback, the apps on every interface", () => {
    expect(plan.ports.map((p) => `${p.host}:${p.port} ${p.service} ${p.role} ${p.variable}`)).toEqual([
      "127.0.0.1:41000 embedded S3 HTTP BW_DEV_S3_PORT",
      "0.0.0.0:41001 breaker-coordinator gRPC COORDINATOR_PORT",
      "0.0.0.0:41002 breaker-coordinator HTTP COORDINATOR_HTTP_PORT",
      "0.0.0.0:41003 cache-store gRPC CACHE_STORE_PORT",
      "0.0.0.0:41004 cache-store HTTP CACHE_STORE_HTTP_PORT",
      "0.0.0.0:41005 gateway HTTP GATEWAY_PORT",
    ]);
  });

  it("BW_DEV_COORDINATORS=3: a one-node etcd, then three replicas on it, each service given all three", () => {
    const three = planStack(
      loadDevConfig({ BW_DEV_BASE_PORT: "41000", BW_DEV_DATA_DIR: "/data", BW_DEV_COORDINATORS: "3" }, "/repo"),
      "/repo",
    );
    expect(three.services.map((s) => s.name)).toEqual([
      "etcd",
      "breaker-coordinator-1",
      "breaker-coordinator-2",
      "breaker-coordinator-3",
      "cache-store",
      "gateway",
    ]);
    const [etcd, , second] = three.services;
    expect(etcd!.exec?.command).toBe("etcd");
    expect(etcd!.exec?.args).toContain("--listen-client-urls=http://127.0.0.1:41006");
    expect(etcd!.exec?.args).toContain("--data-dir=/data/etcd");
    expect(etcd!.healthUrl).toBe("http://127.0.0.1:41006/health");
    const urls = "http://127.0.0.1:41001,http://127.0.0.1:41011,http://127.0.0.1:41021";
    expect(second!.env).toEqual({
      LOG_LEVEL: "info",
      COORDINATOR_URL: urls,
      COORDINATOR_PORT: "41011",
      COORDINATOR_HTTP_PORT: "41012",
      COORDINATOR_ETCD_ENDPOINTS: "http://127.0.0.1:41006",
    });
    expect(three.services.at(-1)!.env["COORDINATOR_URL"]).toBe(urls);
    expect(three.ports.filter((p) => p.service === "etcd").map((p) => p.port)).toEqual([41006, 41007]);
    expect(three.ports.filter((p) => p.service.startsWith("breaker-coordinator")).map((p) => p.port)).toEqual([
      41001, 41002, 41011, 41012, 41021, 41022,
    ]);
  });

  it("BW_DEV_TLS: every app under mTLS with the tokens file and its own token, URLs and health checks https", () => {
    const secrets = {
      dir: "/data/secure",
      ca: "/data/secure/ca.crt",
      service: { cert: "/data/secure/service.crt", key: "/data/secure/service.key" },
      operator: { cert: "/data/secure/operator.crt", key: "/data/secure/operator.key" },
      tokensFile: "/data/secure/tokens.yaml",
      adminTokenFile: "/data/secure/admin.token",
      serviceToken: "svc",
    };
    const secure = planStack(config, "/repo", {}, secrets);
    for (const service of secure.services) {
      expect(service.env).toMatchObject({
        TLS_CERT_FILE: "/data/secure/service.crt",
        TLS_KEY_FILE: "/data/secure/service.key",
        TLS_CA_FILE: "/data/secure/ca.crt",
        TLS_CLIENT_AUTH: "require",
        BW_TOKENS_FILE: "/data/secure/tokens.yaml",
        BW_TOKEN: "svc",
        COORDINATOR_URL: "https://127.0.0.1:41001",
      });
      expect(service.healthUrl).toMatch(/^https:\/\//);
      expect(service.healthTls).toEqual({ ca: secrets.ca, ...secrets.operator });
    }
    expect(secure.services.at(-1)!.env["CACHE_STORE_URLS"]).toBe("https://127.0.0.1:41003");
  });
});
