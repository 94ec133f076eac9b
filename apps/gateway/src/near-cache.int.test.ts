import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Client, PutObjectCommand } from "@aws-sdk/client-s3";
import { startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import { httpRequest, metricValue, startStack, type Stack } from "./__fixtures__/stack.js";

const ENABLED = 'gateway_near_cache_enabled{service="gateway"}';

/** Waits until `check` holds, polling; fails after `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what} did not hold within ${timeoutMs} ms`);
}

const nearCacheOn = (g: ServiceProcess) => async () => (await metricValue(g.httpUrl, ENABLED)) === 1;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/**
 * Reads until the gateway answers from its near-cache. The first read after a
 * write may not be kept: the write's own invalidation, echoed back by the
 * cache-store a moment later, voids a copy that was being made meanwhile.
 */
async function warm(url: string): Promise<void> {
  await eventually(async () => /breakwater-gateway; hit$/.test((await fetch(url).then(async (r) => (await r.arrayBuffer(), r))).headers.get("cache-status") ?? ""), 2_000, `near-cache copy of ${url}`);
}

/**
 * The gateway's near-cache (issue 6, last bullet): two gateways on one
 * cache-store. The near-cache TTL is set long (60 s) here so that only the
 * invalidation streams can explain coherence.
 */
describe("near-cache: two gateways on one cache-store", () => {
  let stack: Stack;
  let a: ServiceProcess;
  let b: ServiceProcess;

  beforeAll(async () => {
    stack = await startStack({
      gateways: 2,
      gatewayEnv: { GATEWAY_CACHE_TTL: "60s", GATEWAY_INVALIDATION_BACKOFF: "50ms", GATEWAY_INVALIDATION_MAX_BACKOFF: "300ms" },
    });
    [a, b] = stack.gateways as [ServiceProcess, ServiceProcess];
    await eventually(nearCacheOn(a), 10_000, "near-cache of A on");
    await eventually(nearCacheOn(b), 10_000, "near-cache of B on");
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const url = (g: ServiceProcess, key: string) => `${g.httpUrl}/objects/default/${key}`;

  it("answers hot small objects itself and says so in Cache-Status (gateway member last, RFC 9211 2)", async () => {
    const put = await fetch(url(a, "nc/small.txt"), { method: "PUT", body: "0123456789", headers: { "x-amz-meta-k": "v" } });
    const etag = put.headers.get("etag")!;
    const first = await fetch(url(a, "nc/small.txt"));
    // The cache-store kept the written body (write-through); the gateway had no copy.
    expect(first.headers.get("cache-status")).toBe("breakwater; hit, breakwater-gateway; fwd=miss");
    expect(await first.text()).toBe("0123456789");
    await warm(url(a, "nc/small.txt"));
    const hit = await fetch(url(a, "nc/small.txt"));
    // The cache-store's member is the one of the answer the copy was made from, preserved (RFC 9211 2).
    expect(hit.headers.get("cache-status")).toMatch(/^breakwater; (fwd=miss|hit), breakwater-gateway; hit$/);
    expect(hit.headers.get("etag")).toBe(etag);
    expect(hit.headers.get("content-length")).toBe("10");
    expect(hit.headers.get("x-amz-meta-k")).toBe("v");
    expect(hit.headers.get("last-modified")).toBe(first.headers.get("last-modified"));
    expect(await hit.text()).toBe("0123456789");

    // Conditional requests and ranges are answered from the copy too.
    const notModified = await httpRequest(a.httpPort, "GET", "/objects/default/nc/small.txt", { headers: { "if-none-match": `W/${etag}` } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers["cache-status"]).toMatch(/breakwater-gateway; hit$/);
    const ims = await httpRequest(a.httpPort, "GET", "/objects/default/nc/small.txt", {
      headers: { "if-modified-since": first.headers.get("last-modified")! },
    });
    expect(ims.status).toBe(304);
    const range = await httpRequest(a.httpPort, "GET", "/objects/default/nc/small.txt", { headers: { range: "bytes=-3" } });
    expect(range.status).toBe(206);
    expect(range.headers["content-range"]).toBe("bytes 7-9/10");
    expect(range.body.toString()).toBe("789");
    expect(range.headers["cache-status"]).toMatch(/breakwater-gateway; hit$/);
    const bad = await httpRequest(a.httpPort, "GET", "/objects/default/nc/small.txt", { headers: { range: "bytes=10-" } });
    expect(bad.status).toBe(416);
    expect(bad.headers["content-range"]).toBe("bytes */10");
    const head = await httpRequest(a.httpPort, "HEAD", "/objects/default/nc/small.txt");
    expect(head.status).toBe(200);
    expect(head.headers["cache-status"]).toMatch(/breakwater-gateway; hit$/);
    expect(head.headers["content-length"]).toBe("10");
  });

  it("50 concurrent reads of a key it holds no copy of make one cache-store read; the rest wait for that copy", async () => {
    const key = "nc/stampede.bin";
    expect((await fetch(url(b, key), { method: "PUT", body: "first" })).status).toBe(200);
    await warm(url(a, key));
    // A write through B drops A's copy; once A has dropped it, nothing of that write is still on
    // its way to A that could void the copy being made below.
    const invalidated = 'gateway_near_cache_invalidated_total{service="gateway"}';
    const droppedBefore = (await metricValue(a.httpUrl, invalidated)) ?? 0;
    const body = Buffer.alloc(100_000, 7);
    expect((await fetch(url(b, key), { method: "PUT", body })).status).toBe(200);
    await eventually(async () => ((await metricValue(a.httpUrl, invalidated)) ?? 0) > droppedBefore, 5_000, "A dropped its copy");
    const getObjectCalls = async (): Promise<number> => {
      const text = await (await fetch(`${stack.cacheStore.httpUrl}/metrics`)).text();
      return text
        .split("\n")
        .filter((l) => l.startsWith("rpc_server_calls_total{") && l.includes("GetObject"))
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    };
    const before = await getObjectCalls();
    const answers = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const res = await fetch(url(a, key));
        return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
      }),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.bytes.equals(body)).toBe(true);
    }
    expect((await getObjectCalls()) - before).toBe(1);
  });

  it("keeps objects over GATEWAY_CACHE_MAX_OBJECT_BYTES (256 KiB) out", async () => {
    await fetch(url(a, "nc/large.bin"), { method: "PUT", body: Buffer.alloc(256 * 1024 + 1, 3) });
    await (await fetch(url(a, "nc/large.bin"))).arrayBuffer();
    const again = await fetch(url(a, "nc/large.bin"));
    expect(again.headers.get("cache-status")).toBe("breakwater; hit, breakwater-gateway; fwd=miss");
    expect((await again.arrayBuffer()).byteLength).toBe(256 * 1024 + 1);
  });

  it("a write, delete or purge through a gateway drops its own copy before it answers", async () => {
    const key = "nc/own.txt";
    await fetch(url(a, key), { method: "PUT", body: "old" });
    await warm(url(a, key));
    await fetch(url(a, key), { method: "PUT", body: "new" });
    expect(await (await fetch(url(a, key))).text()).toBe("new");
    await fetch(url(a, key), { method: "DELETE" });
    expect((await fetch(url(a, key))).status).toBe(404);
    await fetch(url(a, key), { method: "PUT", body: "again" });
    await warm(url(a, key));
    const purge = await httpRequest(a.httpPort, "PURGE", `/objects/default/${key}`);
    expect(JSON.parse(purge.body.toString())).toMatchObject({ gateway_purged: 1 });
    expect((await fetch(url(a, key))).headers.get("cache-status")).toMatch(/gateway; fwd=miss$/);
  });

  it("over 1 000 writes through A: A never serves the old body; the write reaches B's near-cache within 100 ms", async () => {
    const key = "nc/coherent.txt";
    await fetch(url(a, key), { method: "PUT", body: "v0" });
    await warm(url(b, key));
    // Until B stops answering from its old copy: the propagation the gateway is responsible for.
    let worstInvalidationMs = 0;
    // Until B has answered with the new body: that plus one read from the cache-store (a hit: written through).
    let worstServedMs = 0;
    let totalServedMs = 0;
    let oldReadsOnB = 0;
    const served: number[] = [];
    let writesSeenStaleOnB = 0;
    const hitsBefore = (await metricValue(b.httpUrl, 'gateway_near_cache_hits_total{service="gateway"}')) ?? 0;
    for (let i = 1; i <= 1000; i++) {
      const body = `v${i}`;
      const put = await fetch(url(a, key), { method: "PUT", body });
      expect(put.status).toBe(200);
      const acknowledged = performance.now();
      // B held the previous body in its near-cache: poll it until the write shows.
      let staleHere = 0;
      for (;;) {
        const sent = performance.now();
        const seen = await (await fetch(url(b, key))).text();
        if (seen === body) {
          // The invalidation had reached B by the time this read was sent.
          worstInvalidationMs = Math.max(worstInvalidationMs, sent - acknowledged);
          break;
        }
        expect(seen).toBe(`v${i - 1}`); // never anything but the previous or the new body
        staleHere++;
        if (performance.now() - acknowledged > 1_000) throw new Error(`write ${i} did not reach B within 1 s`);
      }
      const servedMs = performance.now() - acknowledged;
      served.push(servedMs);
      totalServedMs += servedMs;
      worstServedMs = Math.max(worstServedMs, servedMs);
      oldReadsOnB += staleHere;
      if (staleHere > 0) writesSeenStaleOnB++;
      // Read-your-writes through the same gateway, every time.
      expect(await (await fetch(url(a, key))).text()).toBe(body);
      // B keeps the new body: the next write has a copy to invalidate (the fill may need a second read, see warm()).
      await (await fetch(url(b, key))).text();
    }
    const hitsOnB = ((await metricValue(b.httpUrl, 'gateway_near_cache_hits_total{service="gateway"}')) ?? 0) - hitsBefore;
    console.log(
      `near-cache propagation over 1000 writes through A, read on B: worst ${worstServedMs.toFixed(1)} ms until B served the new body ` +
        `(mean ${(totalServedMs / 1000).toFixed(1)} ms), worst ${worstInvalidationMs.toFixed(1)} ms until B's copy was invalidated; ` +
        `B served the old body ${oldReadsOnB} times over ${writesSeenStaleOnB} writes; near-cache hits on B ${hitsOnB}; ` +
        `p50 ${quantile(served, 0.5).toFixed(1)} ms, p99 ${quantile(served, 0.99).toFixed(1)} ms, over 50 ms: ${served.filter((x) => x > 50).length}`,
    );
    expect(worstInvalidationMs).toBeLessThan(100);
    // B's refill is a cache-store hit (the put was written through), so the whole path is bounded too.
    expect(worstServedMs).toBeLessThan(100);
  }, 150_000);

  it("breaking the invalidation stream (cache-store killed) empties the near-cache and turns it off; it comes back with the stream", async () => {
    const key = "nc/outage.txt";
    await fetch(url(a, key), { method: "PUT", body: "before" });
    await warm(url(a, key));
    expect(await metricValue(a.httpUrl, 'gateway_near_cache_entries{service="gateway"}')).toBeGreaterThan(0);

    const grpcPort = stack.cacheStore.grpcPort!;
    await stack.cacheStore.stop("SIGKILL");
    await eventually(async () => (await metricValue(a.httpUrl, ENABLED)) === 0, 5_000, "near-cache of A off");
    expect(await metricValue(a.httpUrl, 'gateway_near_cache_entries{service="gateway"}')).toBe(0);
    expect(await metricValue(a.httpUrl, 'gateway_invalidation_stream_live{upstream="http://' + stack.cacheStore.grpcAddress + '",service="gateway"}')).toBe(0);
    // Nothing from the near-cache while its stream is down: the only answer is the upstream's.
    const during = await fetch(url(a, key));
    expect(during.status).toBe(503);
    expect(during.headers.get("retry-after")).toMatch(/^\d+$/);

    // Meanwhile the object changes in storage, behind everyone's back.
    const s3 = new S3Client({
      endpoint: stack.s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: stack.s3.accessKeyId, secretAccessKey: stack.s3.secretAccessKey },
    });
    await s3.send(new PutObjectCommand({ Bucket: "default", Key: key, Body: "after" }));
    s3.destroy();

    const restarted = await startServiceProcess("cache-store", {
      env: {
        CACHE_STORE_PORT: String(grpcPort),
        S3_ENDPOINT: stack.s3.endpoint,
        S3_ACCESS_KEY: stack.s3.accessKeyId,
        S3_SECRET_KEY: stack.s3.secretAccessKey,
        SHUTDOWN_GRACE_MS: "500",
      },
    });
    try {
      await eventually(nearCacheOn(a), 10_000, "near-cache of A back on");
      const back = await fetch(url(a, key));
      expect(await back.text()).toBe("after");
      expect(back.headers.get("cache-status")).toMatch(/gateway; fwd=miss$/);
      const metrics = await (await fetch(`${a.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/^gateway_near_cache_clears_total\{service="gateway"\} [1-9]/m);
    } finally {
      // Gateways first: their streams would hold the cache-store's graceful shutdown.
      await Promise.all(stack.gateways.map((g) => g.stop()));
      await restarted.stop();
    }
  });
});
