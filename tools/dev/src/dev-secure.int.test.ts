import { readFileSync } from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevOrchestrator, type DevOrchestrator } from "./__fixtures__/dev-orchestrator.js";

/**
 * `BW_DEV_TLS=1 npm start`: a throwaway CA and tokens under the data folder,
 * every port under mTLS, and the banner's curl recipe working as printed.
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
    expect(await stack.stop()).toBe(0);
  }, 60_000);
});
