import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  freePort,
  s3Unavailable,
  scrapeSample,
  startServiceProcess,
  type ServiceProcess,
} from "@breakwater/testkit";
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

  it("answers 503 + Retry-After over GATEWAY_MAX_CONCURRENT_REQUESTS, serves again once they are done", async () => {
    const gateway = stack.gateways[0]!;
    const port = gateway.httpPort;
    const rejected = async (): Promise<number> =>
      (await scrapeSample(gateway.httpUrl, "gateway_http_rejected_total")) ?? 0;
    // PUTs the gateway has finished with (counted when their connection closes, as a slot is freed).
    const putsEnded = async (): Promise<number> =>
      (await scrapeSample(gateway.httpUrl, "gateway_http_request_duration_seconds_count", {
        route: "objects",
        method: "PUT",
      })) ?? 0;
    // Their upstream calls, ended at the cache-store: what the cut uploads left shows only after.
    const putObjectsEnded = async (): Promise<number> =>
      (await scrapeSample(stack.cacheStore.httpUrl, "rpc_server_duration_seconds_count", {
        method: "/breakwater.cache.v1.CacheService/PutObject",
      })) ?? 0;
    // No request to this gateway before the uploads: a slot is freed a moment after its answer has
    // gone out, so one just answered could still hold it. The counts start at 0 on this fresh stack.
    const putObjectsBefore = await putObjectsEnded();
    // Two uploads that never finish hold both slots.
    const held: Socket[] = [];
    const answered: string[] = [];
    for (let i = 0; i < 2; i++) {
      const s = connect(port, "127.0.0.1");
      await new Promise<void>((r) => s.once("connect", () => r()));
      s.write(`PUT /objects/default/slow-${i} HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\nten bytes.`);
      held.push(s);
      s.on("data", (d: Buffer) => answered.push(`upload ${i}: ${d.toString("latin1").split("\r\n")[0]}`));
    }
    // Until the gateway holds both (a request before that is simply answered: 404).
    let over: Response | undefined;
    await eventually(
      async () => {
        const res = await fetch(`${stack.base}/anything`);
        if (res.status === 503) return Boolean((over = res));
        await res.arrayBuffer();
        return false;
      },
      { what: "both slots held" },
    );
    await expectUnavailable(over!);
    expect(answered).toEqual([]); // the slots are the uploads'
    for (const s of held) s.destroy();
    await eventually(async () => (await putsEnded()) === 2, { what: "both held uploads ended" });
    // The refusal was the concurrency limit's (a scrape of /metrics takes a slot too: only now can it answer).
    expect(await rejected()).toBe(1);
    expect((await fetch(`${stack.base}/anything`)).status).toBe(404);
    await eventually(async () => (await putObjectsEnded()) >= putObjectsBefore + 2, {
      what: "their PutObject calls ended",
    });
    expect((await fetch(`${stack.base}/slow-0`)).status).toBe(404); // the cut uploads left nothing
    expect((await fetch(`${stack.base}/slow-1`)).status).toBe(404);
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
    expect(text).toMatch(
      /^gateway_invalidation_stream_live\{upstream="http:\/\/127\.0\.0\.1:\d+",service="gateway"\} 0$/m,
    );
  });
});
