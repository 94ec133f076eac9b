import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { heapAfterGc, heapProbeEnv, MiB, rssBytes, samplePeak } from "@breakwater/testkit";
import { startStack, type Stack } from "./__fixtures__/stack.js";

const SIZE = 256 * MiB;
const CHUNK = 256 * 1024;

/** Deterministic, incompressible bytes: a random block, each chunk stamped with its index. */
function chunkAt(block: Buffer, index: number): Buffer {
  const chunk = Buffer.from(block);
  chunk.writeUInt32BE(index, 0);
  chunk.writeUInt32BE(index ^ 0x5a5a5a5a, chunk.length - 4);
  return chunk;
}

/** Live memory of a process: heap in use and external (Buffers) right after a full GC. */
async function liveBytes(pid: number): Promise<number> {
  const usage = await heapAfterGc(pid);
  return usage.heapUsed + usage.external;
}

/**
 * A process's live memory sampled while a transfer runs, and its RSS: the
 * peaks. A full GC every ~250 ms (paced, not waited on) leaves only what the
 * process holds: a body buffered whole would show as 256 MiB.
 */
function sampleMemory(pid: number): { stop(): Promise<{ live: number; rss: number; samples: number }> } {
  const rss = samplePeak(() => rssBytes(pid));
  let live = 0;
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      live = Math.max(live, await liveBytes(pid));
      samples++;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { live, rss: rss.stop(), samples };
    },
  };
}

/**
 * A 256 MiB object through the gateway, both ways, generated and hashed on the
 * fly: the gateway and the cache-store stream it (gRPC messages of ≤ 64 KiB,
 * backpressure on both sides), so neither holds more than a small part of it
 * at any time, and neither keeps anything of it after.
 */
describe("a 256 MiB object through the gateway", () => {
  let stack: Stack;
  beforeAll(async () => {
    // Live heap after a forced GC on demand: RSS alone cannot tell a held body from allocator slack.
    stack = await startStack({ gatewayEnv: heapProbeEnv, cacheStoreEnv: heapProbeEnv });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("PUT and GET are byte-exact (sha256); gateway and cache-store hold < 64 MiB at a time and keep none", async () => {
    const gateway = stack.gateways[0]!;
    const cacheStore = stack.cacheStore;
    const pids = { gateway: gateway.pid, "cache-store": cacheStore.pid };
    const block = randomBytes(CHUNK);
    const liveBefore = { gateway: await liveBytes(gateway.pid), "cache-store": await liveBytes(cacheStore.pid) };
    const rssBefore = { gateway: rssBytes(gateway.pid), "cache-store": rssBytes(cacheStore.pid) };

    // PUT: written chunk by chunk as the gateway takes them.
    const sent = createHash("sha256");
    const putSamplers = Object.values(pids).map(sampleMemory);
    const putStarted = performance.now();
    const put = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: gateway.httpPort,
          method: "PUT",
          path: "/objects/default/large/256mib.bin",
          headers: { "content-length": SIZE, "content-type": "application/octet-stream" },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      let index = 0;
      const pump = (): void => {
        while (index < SIZE / CHUNK) {
          const chunk = chunkAt(block, index++);
          sent.update(chunk);
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    const putMs = performance.now() - putStarted;
    const putPeaks = await Promise.all(putSamplers.map((m) => m.stop()));
    expect(put.status, put.body).toBe(200);
    expect(JSON.parse(put.body)).toMatchObject({ size: SIZE });

    // GET: hashed as it arrives, never held.
    const received = createHash("sha256");
    let bytes = 0;
    const getSamplers = Object.values(pids).map(sampleMemory);
    const getStarted = performance.now();
    const got = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: gateway.httpPort, path: "/objects/default/large/256mib.bin" },
        (res) => {
          res.on("data", (d: Buffer) => {
            received.update(d);
            bytes += d.length;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
    const getMs = performance.now() - getStarted;
    const getPeaks = await Promise.all(getSamplers.map((m) => m.stop()));

    expect(got.status).toBe(200);
    expect(got.headers["content-length"]).toBe(String(SIZE));
    expect(bytes).toBe(SIZE);
    expect(received.digest("hex")).toBe(sent.digest("hex"));

    const liveAfter = { gateway: await liveBytes(gateway.pid), "cache-store": await liveBytes(cacheStore.pid) };
    const mib = (n: number): string => (n / MiB).toFixed(1);
    const names = Object.keys(pids) as (keyof typeof pids)[];
    for (const [i, name] of names.entries()) {
      const put = putPeaks[i]!;
      const get = getPeaks[i]!;
      console.log(
        `256 MiB through the gateway (PUT ${(putMs / 1000).toFixed(1)} s, GET ${(getMs / 1000).toFixed(1)} s), ` +
          `${name}: ` +
          `live (heap + external after GC) ${mib(liveBefore[name])} MiB before, peak ${mib(put.live)} during PUT ` +
          `(${put.samples} samples), ${mib(get.live)} during GET (${get.samples}), ${mib(liveAfter[name])} after; ` +
          `RSS ${mib(rssBefore[name])} MiB before, peak ${mib(put.rss)} during PUT, ${mib(get.rss)} during GET`,
      );
    }
    for (const [i, name] of names.entries()) {
      const peakLive = Math.max(putPeaks[i]!.live, getPeaks[i]!.live);
      expect(putPeaks[i]!.samples + getPeaks[i]!.samples, `${name} sampled`).toBeGreaterThan(2);
      // Streamed: never more than a small part of the object held at once.
      expect(peakLive - liveBefore[name], `${name} live memory growth during the transfer`).toBeLessThan(64 * MiB);
      // Nothing of it kept after.
      expect(liveAfter[name] - liveBefore[name], `${name} live memory kept after the transfer`).toBeLessThan(8 * MiB);
      // RSS, a loose bound only (allocator slack, V8 sizing its heap): still half the object.
      const peakRss = Math.max(putPeaks[i]!.rss, getPeaks[i]!.rss);
      expect(peakRss - rssBefore[name], `${name} RSS growth`).toBeLessThan(128 * MiB);
    }
  }, 300_000);
});
