import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, writeTokensFile } from "@breakwater/testkit";
import { startStack, type Stack } from "./__fixtures__/stack.js";

const TOKENS = [
  { name: "gateway", token: "gw-secret", permissions: ["read", "write", "purge"] },
  { name: "busy", token: "busy-secret", permissions: ["read"] },
  { name: "calm", token: "calm-secret", permissions: ["read"] },
  { name: "ops", token: "ops-secret", permissions: ["purge"] },
];

/**
 * Per-caller rate limits (issue 13, nginx `limit_req`): a slow refill (1 a
 * minute) so that nothing refills while the test runs; the burst is what a
 * caller may send at once.
 */
describe("gateway rate limits", () => {
  let stack: Stack;
  let objects: string;

  beforeAll(async () => {
    const file = writeTokensFile(TOKENS);
    stack = await startStack({
      gatewayEnv: {
        BW_TOKENS_FILE: file,
        BW_TOKEN: "gw-secret",
        GATEWAY_ANONYMOUS_READ: "true",
        GATEWAY_RATE_LIMIT: "1/m",
        GATEWAY_RATE_BURST: "5",
        GATEWAY_PURGE_PREFIX_RATE_LIMIT: "1/h",
        GATEWAY_PURGE_PREFIX_BURST: "1",
      },
      cacheStoreEnv: { BW_TOKENS_FILE: file },
    });
    objects = `${stack.gateways[0]!.httpUrl}/objects/default`;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("a burst over the limit gets 429 + Retry-After; another token is unaffected", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await fetch(`${objects}/k${i}`, { headers: bearer("busy-secret") })).status);
    expect(statuses).toEqual([404, 404, 404, 404, 404]);
    const over = await fetch(`${objects}/k5`, { headers: bearer("busy-secret") });
    // The next token comes a minute after the burst began: Retry-After says so (a slow machine may have used a few s).
    const retryAfter = Number(over.headers.get("retry-after"));
    expect([over.status, retryAfter > 50 && retryAfter <= 60]).toEqual([429, true]);
    expect(await over.json()).toEqual({
      code: "rate_limited",
      error: "too many requests: over this caller's rate limit",
      retry_after: retryAfter,
    });
    expect((await fetch(`${objects}/k0`, { headers: bearer("calm-secret") })).status).toBe(404);
    // Callers without a token share their address's bucket; tokens are not counted there.
    for (let i = 0; i < 5; i++) expect((await fetch(`${objects}/anon-${i}`)).status).toBe(404);
    expect((await fetch(`${objects}/anon-5`)).status).toBe(429);
    expect((await fetch(`${objects}/k0`, { headers: bearer("calm-secret") })).status).toBe(404);
  });

  it("PURGE by prefix has a limit of its own; a purge of one key does not count against it", async () => {
    const purge = (path: string) => fetch(`${objects}/${path}`, { method: "PURGE", headers: bearer("ops-secret") });
    expect((await purge("logs/?prefix=1")).status).toBe(200);
    const over = await purge("logs/?prefix=1");
    const retryAfter = Number(over.headers.get("retry-after"));
    expect([over.status, retryAfter > 3590 && retryAfter <= 3600]).toEqual([429, true]);
    expect(((await over.json()) as { error: string }).error).toBe(
      "too many purges by prefix: over this caller's rate limit",
    );
    expect((await purge("logs/one")).status).toBe(200);
  });
});
