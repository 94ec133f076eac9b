import { networkInterfaces } from "node:os";
import { describe, expect, it } from "vitest";
import { runServiceToExit, startServiceProcess, writeTokensFile } from "@breakwater/testkit";

const hostVariable: Record<string, string> = {
  gateway: "GATEWAY_HOST",
  "cache-store": "CACHE_STORE_HOST",
  "breaker-coordinator": "COORDINATOR_HOST",
};
const ports = {
  GATEWAY_PORT: "0",
  CACHE_STORE_PORT: "0",
  CACHE_STORE_HTTP_PORT: "0",
  COORDINATOR_PORT: "0",
  COORDINATOR_HTTP_PORT: "0",
  COORDINATOR_URL: "http://127.0.0.1:1",
};
/** No credential may leak in from the environment the tests run in. */
const noCredentials = {
  BW_TOKENS_FILE: "",
  BW_ADMIN_TOKEN: "",
  TLS_CERT_FILE: "",
  TLS_CLIENT_AUTH: "",
  BW_INSECURE: "",
};
const whatToSet = "set BW_TOKENS_FILE or TLS_CLIENT_AUTH=require, bind 127.0.0.1, or set BW_INSECURE=1";

/**
 * Protected mode (issue 13, Redis's idea): a service with no credentials
 * configured serves loopback only; asked to bind elsewhere it exits 2 with
 * the line that says what to set.
 */
describe("protected mode", () => {
  it.each(Object.keys(hostVariable))(
    "%s bound to 0.0.0.0 with no credentials exits 2 naming what to set",
    async (app) => {
      const name = hostVariable[app]!;
      const { code, output } = await runServiceToExit(app, { ...ports, ...noCredentials, [name]: "0.0.0.0" });
      expect(code).toBe(2);
      expect(output).toContain(
        `${name}=0.0.0.0 is not a loopback address and nothing guards reads and writes: ${whatToSet}`,
      );
      expect(output).not.toMatch(/\n\s+at /); // no stack
    },
  );

  // BW_ADMIN_TOKEN alone guards PURGE and the admin ops only: anyone could still PUT and DELETE.
  it.each(Object.keys(hostVariable))("%s bound to 0.0.0.0 with only BW_ADMIN_TOKEN exits 2", async (app) => {
    const name = hostVariable[app]!;
    const env = { ...ports, ...noCredentials, BW_ADMIN_TOKEN: "t", [name]: "0.0.0.0" };
    const { code, output } = await runServiceToExit(app, env);
    expect(code).toBe(2);
    expect(output).toContain(
      `${name}=0.0.0.0 is not a loopback address and nothing guards reads and writes ` +
        `(BW_ADMIN_TOKEN alone leaves reads and writes open to anyone): ${whatToSet}`,
    );
  });

  it("starts on 0.0.0.0 with a token file, or with BW_INSECURE=1", async () => {
    const tokens = writeTokensFile([{ name: "ops", token: "ops-secret", permissions: ["admin"] }]);
    for (const env of [{ BW_TOKENS_FILE: tokens }, { BW_INSECURE: "1" }]) {
      const gateway = await startServiceProcess("gateway", {
        env: { ...noCredentials, GATEWAY_HOST: "0.0.0.0", ...env },
      });
      try {
        expect((await fetch(`${gateway.httpUrl}/healthz`)).status).toBe(200);
      } finally {
        await gateway.stop();
      }
    }
  });

  it("listens on 127.0.0.1 by default", async () => {
    const gateway = await startServiceProcess("gateway", { env: noCredentials });
    try {
      expect((await fetch(`${gateway.httpUrl}/healthz`)).status).toBe(200);
      // This machine's other addresses are refused (when it has one).
      const external = Object.values(networkInterfaces())
        .flat()
        .find((i) => i !== undefined && i.family === "IPv4" && !i.internal);
      if (external !== undefined) {
        const refused = await fetch(`http://${external.address}:${gateway.httpPort}/healthz`).catch(
          (err: { cause?: { code?: string } }) => err.cause?.code,
        );
        expect(refused).toBe("ECONNREFUSED");
      }
    } finally {
      await gateway.stop();
    }
  });
});
