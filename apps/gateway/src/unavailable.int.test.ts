import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, s3Unavailable, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import { connect, type Socket } from "node:net";
import { startStack, type Stack } from "./__fixtures__/stack.js";

/** What a 503 from the gateway must carry: Retry-After and `{"error", "retry_after"}`. */
async function expectUnavailable(res: Response): Promise<void> {
  expect(res.status).toBe(503);
  const retryAfter = res.headers.get("retry-after");
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  const body = (await res.json()) as { error: string; code: string; retry_after: number };
  expect(body.error).toEqual(expect.any(String));
  expect(body.code).toBe("unavailable");
  expect(body.retry_after).toBe(Number(retryAfter));
}

describe("storage unavailable behind the cache-store", () => {
  let stack: Stack;
  beforeAll(async () => {
    // The proxy between cache-store and s3rver breaks storage on demand.
    stack = await startStack({ proxy: true, cacheStoreEnv: { S3_REQUEST_TIMEOUT: "300ms" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("S3 answering 503: an uncached key → 503 + Retry-After + JSON; a cached one is still served", async () => {
    await fetch(`${stack.base}/warm`, { method: "PUT", body: "kept" });
    expect(await (await fetch(`${stack.base}/warm`)).text()).toBe("kept");
    stack.proxy!.setMode(s3Unavailable);
    try {
      await expectUnavailable(await fetch(`${stack.base}/cold-${Date.now()}`));
      const head = await fetch(`${stack.base}/cold-head`, { method: "HEAD" });
      expect(head.status).toBe(503);
      expect(head.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(await (await fetch(`${stack.base}/warm`)).text()).toBe("kept");
      await expectUnavailable(await fetch(`${stack.base}/put-during-outage`, { method: "PUT", body: "x" }));
    } finally {
      stack.proxy!.setMode({ kind: "pass" });
    }
  });

  it("S3 black-holed (no answer at all): the request is bounded and answers 503", async () => {
    stack.proxy!.setMode({ kind: "black-hole" });
    try {
      const started = performance.now();
      await expectUnavailable(await fetch(`${stack.base}/hung-${Date.now()}`));
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      stack.proxy!.setMode({ kind: "pass" });
    }
  });
});

describe("too many requests in flight", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ gatewayEnv: { GATEWAY_MAX_CONCURRENT_REQUESTS: "2" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("answers 503 + Retry-After over GATEWAY_MAX_CONCURRENT_REQUESTS, and serves again once they are done", async () => {
    const port = stack.gateways[0]!.httpPort;
    // Two uploads that never finish hold both slots.
    const held: Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = connect(port, "127.0.0.1");
      await new Promise<void>((r) => s.once("connect", () => r()));
      s.write(`PUT /objects/default/slow-${i} HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\nten bytes.`);
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 200));
    await expectUnavailable(await fetch(`${stack.base}/anything`));
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${stack.base}/anything`)).status).toBe(404);
    expect((await fetch(`${stack.base}/slow-0`)).status).toBe(404); // the cut uploads left nothing
  });
});

describe("no cache-store reachable", () => {
  let gateway: ServiceProcess;
  beforeAll(async () => {
    const closed = await freePort();
    gateway = await startServiceProcess("gateway", { env: { CACHE_STORE_URLS: `http://127.0.0.1:${closed}` } });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it("/healthz says alive, /readyz answers 503, object requests 503 + Retry-After", async () => {
    expect((await fetch(`${gateway.httpUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gateway.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, near_cache: "waiting for invalidation streams" });
    await expectUnavailable(await fetch(`${gateway.httpUrl}/objects/default/k`));
  });

  it("reports its near-cache off (no live invalidation stream) in /metrics", async () => {
    const text = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
    expect(text).toMatch(/^gateway_near_cache_enabled\{service="gateway"\} 0$/m);
    expect(text).toMatch(/^gateway_invalidation_stream_live\{upstream="http:\/\/127\.0\.0\.1:\d+",service="gateway"\} 0$/m);
  });
});
