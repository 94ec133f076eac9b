import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, eventually, startServiceProcess, writeTokensFile, type ServiceProcess } from "@breakwater/testkit";
import { startStack, type Stack } from "./__fixtures__/stack.js";

/** The gateway's own service token (BW_TOKEN) and the callers' tokens, each with its permissions. */
const TOKENS = [
  { name: "gateway", token: "gw-secret", permissions: ["read", "write", "purge"] },
  { name: "reader", token: "reader-secret", permissions: ["read"], buckets: ["default"], prefixes: ["pub/"] },
  { name: "writer", token: "writer-secret", permissions: ["read", "write"], buckets: ["default"] },
  { name: "purger", token: "purger-secret", permissions: [{ permission: "purge", prefixes: ["tmp/"] }] },
];
const as = (name: string): Record<string, string> => bearer(TOKENS.find((t) => t.name === name)!.token);

/**
 * Who may do what through the gateway (issue 13), on real processes: the
 * gateway and the cache-store read the same BW_TOKENS_FILE; the gateway checks
 * each caller and calls CacheService with its own BW_TOKEN.
 */
describe("gateway tokens and permissions", () => {
  let stack: Stack;
  let objects: string;
  let anonymousReads: ServiceProcess;

  beforeAll(async () => {
    const file = writeTokensFile(TOKENS);
    stack = await startStack({
      gatewayEnv: { BW_TOKENS_FILE: file, BW_TOKEN: "gw-secret", GATEWAY_CACHE_MAX_BYTES: "0" },
      cacheStoreEnv: { BW_TOKENS_FILE: file },
    });
    objects = `${stack.gateways[0]!.httpUrl}/objects`;
    anonymousReads = await startServiceProcess("gateway", {
      env: {
        CACHE_STORE_URLS: `http://${stack.cacheStore.grpcAddress}`,
        BW_TOKENS_FILE: file,
        BW_TOKEN: "gw-secret",
        GATEWAY_ANONYMOUS_READ: "true",
      },
    });
    for (const key of ["pub/a", "secret/b", "tmp/c"]) {
      const put = await fetch(`${objects}/default/${key}`, { method: "PUT", body: key, headers: as("writer") });
      expect(put.status).toBe(200);
    }
  });
  afterAll(async () => {
    await anonymousReads?.stop();
    await stack?.stop();
  });

  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    fetch(`${objects}/${path}`, { method, headers, body });

  it("answers 401 with WWW-Authenticate: Bearer without a token, or with one it does not know", async () => {
    const refused: Record<string, string>[] = [
      {},
      { authorization: "Bearer not-a-token" },
      { authorization: "Basic dXNlcjpwYXNz" },
    ];
    for (const headers of refused) {
      for (const method of ["GET", "HEAD", "PUT", "DELETE", "PURGE"]) {
        const res = await call(method, "default/pub/a", headers, method === "PUT" ? "x" : undefined);
        expect([method, res.status, res.headers.get("www-authenticate")]).toEqual([method, 401, "Bearer"]);
      }
    }
    const res = await call("GET", "default/pub/a");
    expect(await res.json()).toEqual({
      code: "unauthenticated",
      error: "GET needs a bearer token allowed to read in default/pub/a",
    });
  });

  it("read: allowed in its bucket and prefix, 403 outside them and for writes", async () => {
    const ok = await call("GET", "default/pub/a", as("reader"));
    expect([ok.status, await ok.text()]).toEqual([200, "pub/a"]);
    expect((await call("HEAD", "default/pub/a", as("reader"))).status).toBe(200);
    const outside = await call("GET", "default/secret/b", as("reader"));
    expect([outside.status, await outside.json()]).toEqual([
      403,
      { code: "permission_denied", error: 'GET is not allowed: token "reader" may not read in default/secret/b' },
    ]);
    expect((await call("GET", "other/pub/a", as("reader"))).status).toBe(403);
    expect((await call("PUT", "default/pub/new", as("reader"), "x")).status).toBe(403);
    expect((await call("DELETE", "default/pub/a", as("reader"))).status).toBe(403);
  });

  it("write: PUT and DELETE in its bucket, 403 in another; no purge", async () => {
    expect((await call("PUT", "default/w/1", as("writer"), "one")).status).toBe(200);
    expect((await call("DELETE", "default/w/1", as("writer"))).status).toBe(204);
    expect((await call("PUT", "other/w/1", as("writer"), "one")).status).toBe(403);
    expect((await call("PURGE", "default/w/1", as("writer"))).status).toBe(403);
  });

  it("purge: keys and prefixes under its prefix only", async () => {
    expect((await call("PURGE", "default/tmp/c", as("purger"))).status).toBe(200);
    expect((await call("PURGE", "default/tmp/?prefix=1", as("purger"))).status).toBe(200);
    expect((await call("PURGE", "default/pub/a", as("purger"))).status).toBe(403);
    expect((await call("PURGE", "default/?prefix=1", as("purger"))).status).toBe(403);
    expect((await call("GET", "default/tmp/c", as("purger"))).status).toBe(403);
  });

  it("GATEWAY_ANONYMOUS_READ lets reads through without a token, and nothing else", async () => {
    const base = `${anonymousReads.httpUrl}/objects/default`;
    const read = await fetch(`${base}/secret/b`);
    expect([read.status, await read.text()]).toEqual([200, "secret/b"]);
    expect((await fetch(`${base}/x`, { method: "PUT", body: "x" })).status).toBe(401);
    expect((await fetch(`${base}/x`, { method: "PUT", body: "x", headers: as("reader") })).status).toBe(403);
  });

  it("logs who purged, never a token", async () => {
    const output = () => stack.gateways[0]!.output.join("\n");
    await eventually(() => /"who":"purger".*"msg":"PURGE"/.test(output()), { what: "the purge logged with who" });
    const lines = output();
    for (const t of TOKENS) expect(lines).not.toContain(t.token);
  });
});
