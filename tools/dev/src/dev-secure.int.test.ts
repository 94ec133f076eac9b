import { readFileSync } from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { cacheV1 } from "@breakwater/proto";
import { createGrpcClient, createTransportSecurity, loadTlsSettings } from "@breakwater/server-kit";
import { startDevOrchestrator, type DevOrchestrator } from "./__fixtures__/dev-orchestrator.js";

/**
 * `BW_DEV_TLS=1 npm start`: a throwaway CA and tokens under the data folder,
 * every port under mTLS, and the banner's curl recipe working as printed (and
 * its grpcurl line, made here with grpc-js: the same method, files and token).
 */
describe("BW_DEV_TLS=1 npm start", () => {
  let stack: DevOrchestrator;
  const secure = (): string => path.join(stack.dataDir, "secure");
  const request = (
    url: string,
    options: https.RequestOptions & { body?: string },
  ): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = https.request(url, { agent: false, ...options }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end(options.body);
    });

  beforeAll(async () => {
    stack = await startDevOrchestrator({ BW_DEV_TLS: "1" }, 8);
  }, 120_000);

  afterAll(async () => {
    await stack?.cleanUp();
  });

  it("the banner's curl recipe works; no token is 401, no client certificate is refused at the handshake", async () => {
    expect(stack.output()).toContain("mTLS and tokens on");
    expect(stack.output()).toMatch(/curl --cacert \S+ca\.crt --cert \S+operator\.crt --key \S+operator\.key/);
    const pem = {
      ca: readFileSync(path.join(secure(), "ca.crt")),
      cert: readFileSync(path.join(secure(), "operator.crt")),
      key: readFileSync(path.join(secure(), "operator.key")),
    };
    const token = readFileSync(path.join(secure(), "admin.token"), "utf8").trim();
    const object = `https://127.0.0.1:${stack.base + 5}/objects/default/secure.txt`;
    const auth = { authorization: `Bearer ${token}` };
    expect((await request(object, { ...pem, method: "PUT", headers: auth, body: "secret" })).status).toBe(200);
    expect(await request(object, { ...pem, headers: auth })).toEqual({ status: 200, body: "secret" });
    expect((await request(object, pem)).status).toBe(401);
    await expect(request(object, { ca: pem.ca })).rejects.toThrow();

    // The banner's grpcurl line: HeadObject on the cache-store with -cacert -cert -key and the admin token.
    const security = createTransportSecurity(
      loadTlsSettings({
        TLS_CERT_FILE: path.join(secure(), "operator.crt"),
        TLS_KEY_FILE: path.join(secure(), "operator.key"),
        TLS_CA_FILE: path.join(secure(), "ca.crt"),
        TLS_CLIENT_AUTH: "none",
        TLS_RELOAD_INTERVAL: 5_000,
      })!,
    );
    const cache = createGrpcClient(
      cacheV1.CacheService,
      `https://127.0.0.1:${stack.base + 3}`,
      {},
      security.channelCredentials(),
    );
    try {
      const head = await cache.headObject({ bucket: "default", key: "secure.txt" }, { headers: auth });
      expect(head.info?.size).toBe(6n);
      const none = await cache.headObject({ bucket: "default", key: "secure.txt" }).catch((e: unknown) => e);
      expect((none as ConnectError).code).toBe(Code.Unauthenticated);
    } finally {
      cache.close();
      security.close();
    }
    expect(await stack.stop()).toBe(0);
  }, 60_000);
});
