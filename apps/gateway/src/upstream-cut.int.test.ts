import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { Agent } from "node:http";
import { eventually, MiB } from "@breakwater/testkit";
import { pausedRead, startStack, type Stack } from "./__fixtures__/stack.js";

/** Over the cache-store's CACHE_MAX_OBJECT_BYTES (8 MiB): streamed from storage, never cached whole. */
const SIZE = 32 * MiB;

/**
 * An upstream that fails after the gateway has sent 200 and part of the body
 * must cut the client's connection: the client sees a body shorter than
 * Content-Length and an error, never a short body that looks complete.
 */
describe.each([
  {
    fault: "the cache-store is SIGKILLed mid-body",
    proxy: false,
    cut: (stack: Stack) => stack.cacheStore.stop("SIGKILL"),
  },
  {
    fault: "storage's connection is cut mid-body (the proxy in front of S3 closes)",
    proxy: true,
    cut: (stack: Stack) => stack.proxy!.close(),
  },
])("$fault", ({ proxy, cut }) => {
  let stack: Stack;
  const agent = new Agent({ keepAlive: true });
  beforeAll(async () => {
    stack = await startStack({
      proxy,
      cacheStoreEnv: { S3_REQUEST_TIMEOUT: "20s" },
      // A response merely ended short would leave the connection open this long.
      gatewayEnv: { GATEWAY_KEEP_ALIVE_TIMEOUT: "60s" },
    });
    const put = await fetch(`${stack.base}/cut/large.bin`, { method: "PUT", body: randomBytes(SIZE) });
    expect(put.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    agent.destroy();
    await stack?.stop();
  });

  it("the client's 200 body ends short with an error (Content-Length not met)", async () => {
    const read = await pausedRead(stack.gateways[0]!.httpPort, "/objects/default/cut/large.bin", agent);
    expect(read.res.statusCode).toBe(200);
    expect(read.res.headers["content-length"]).toBe(String(SIZE));
    expect(read.res.headers["cache-status"]).toMatch(/fwd=bypass/);
    await cut(stack);
    read.resume();
    // Far below the gateway's keep-alive timeout: the connection is cut, not left idle with the body short.
    await eventually(() => read.ending() !== undefined, { what: "the end of the body (or an error)" });
    const outcome = read.ending()!;
    expect(outcome.complete).toBe(false);
    expect(outcome.error).toBeDefined();
    expect(outcome.bytes).toBeLessThan(SIZE);
    // The gateway is fine afterwards: it still answers.
    await eventually(async () => (await fetch(`${stack.gateways[0]!.httpUrl}/healthz`)).status === 200);
  }, 30_000);
});
