import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { cacheV1 } from "@breakwater/proto";
import {
  get,
  sha256,
  startCacheStoreStack,
  type CacheClient,
  type CacheStoreStack,
} from "./__fixtures__/cache-store-stack.js";
import { heapAfterGc, heapProbeEnv, MiB, openFds, rssBytes } from "@breakwater/testkit";

const { BYPASS } = cacheV1.CacheStatus;

/** Runs `task(0 … n-1)` with at most `concurrency` in flight. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/** Reads the first message of a GetObject, then walks away (the client cancels the call). */
async function firstThenCancel(client: CacheClient, key: string): Promise<cacheV1.CacheStatus> {
  for await (const m of client.getObject({ bucket: "default", key })) return m.cacheStatus;
  throw new Error("GetObject answered no message");
}

describe("a client that cancels a GetObject stops the S3 download, and cancellations leak nothing", () => {
  let stack: CacheStoreStack;
  let clients: CacheClient[];
  const large = randomBytes(32 * MiB);
  // 16 messages: the client cancels long before the cache-store could have sent them all.
  const mid = randomBytes(1 * MiB);

  beforeAll(async () => {
    // Objects over 256 KiB stream through uncached (BYPASS): every read below is its own S3 GET.
    stack = await startCacheStoreStack({ env: { CACHE_MAX_OBJECT_BYTES: "256KiB", ...heapProbeEnv } });
    clients = [stack.client, stack.newClient(), stack.newClient(), stack.newClient()];
    // Straight into s3rver, so that the cache-store opens no connection to S3 before the first test.
    await stack.seed("cancel/large.bin", large);
    await stack.seed("cancel/mid.bin", mid);
  });
  afterAll(async () => {
    if (stack !== undefined) expect(await stack.close()).toBe(0); // a clean SIGTERM shutdown
  });

  it("cancelling mid-stream closes the cache-store's S3 connection at once; one GET only; still healthy", async () => {
    expect(stack.proxy.openConnections).toBe(0);
    const iterator = stack.client.getObject({ bucket: "default", key: "cancel/large.bin" })[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done !== true && first.value.cacheStatus).toBe(BYPASS);
    for (let i = 0; i < 16; i++) await iterator.next(); // 1 MiB in: mid-stream
    // The download is stalled by backpressure, its socket open.
    expect(stack.proxy.openConnections).toBe(1);

    const cancelled = performance.now();
    await iterator.return?.();
    // Released unread, the socket is destroyed rather than pooled (a
    // stalled download would hold it for S3_REQUEST_TIMEOUT, 30 s).
    await expect.poll(() => stack.proxy.openConnections, { interval: 10, timeout: 5_000 }).toBe(0);
    console.info(
      `cancel mid-stream: S3 connection closed ` +
        `${(performance.now() - cancelled).toFixed(0)} ms after the client cancelled`,
    );
    expect(stack.s3Gets("cancel/large.bin")).toBe(1);

    const whole = await get(stack.client, "cancel/large.bin");
    expect([whole.status, whole.body.length, sha256(whole.body)]).toEqual([BYPASS, large.length, sha256(large)]);
  });

  it("5 000 reads cancelled after their first message (64 at once) leave fds, heap and RSS at baseline", async () => {
    const pid = stack.process.pid;
    const key = "cancel/mid.bin";
    const run = async (n: number): Promise<void> =>
      pool(n, 64, async (i) => {
        expect(await firstThenCancel(clients[i % clients.length]!, key)).toBe(BYPASS);
      });

    // Warm-up: lazy allocations, JIT, and the allocator's high-water mark. RSS climbs once (about
    // 90 → 190 MiB over the first thousand reads, as malloc arenas and V8 pages fill) and then stays.
    await run(1_000);
    const fdsBefore = openFds(pid);
    const heapBefore = await heapAfterGc(pid);
    const rssBefore = rssBytes(pid);
    const getsBefore = stack.s3Gets(key);

    const started = performance.now();
    await run(5_000);
    const ms = performance.now() - started;

    // Every cancelled read made exactly one S3 GET, and every one of those connections is closed.
    // A read whose body had all arrived before its cancel leaves an idle keep-alive socket, which
    // the proxy (a Node server, keepAliveTimeout 5 s) closes; a download left running would hold
    // its socket for S3_REQUEST_TIMEOUT (30 s).
    expect(stack.s3Gets(key) - getsBefore).toBe(5_000);
    await expect.poll(() => stack.proxy.openConnections, { interval: 50, timeout: 8_000 }).toBe(0);
    await expect.poll(() => openFds(pid), { interval: 50, timeout: 5_000 }).toBeLessThanOrEqual(fdsBefore + 2);
    const fdsAfter = openFds(pid);
    const heapAfter = await heapAfterGc(pid);
    const rssAfter = rssBytes(pid);
    const mib = (n: number): string => (n / MiB).toFixed(2);
    console.info(
      `5 000 cancelled reads in ${ms.toFixed(0)} ms (${((5_000 / ms) * 1000).toFixed(0)}/s): ` +
        `fds ${fdsBefore} → ${fdsAfter}, ` +
        `heap after GC ${mib(heapBefore.heapUsed)} → ${mib(heapAfter.heapUsed)} MiB, ` +
        `external ${mib(heapBefore.external)} → ${mib(heapAfter.external)} MiB, ` +
        `RSS ${mib(rssBefore)} → ${mib(rssAfter)} MiB`,
    );
    // A leak of 800 bytes a read would be 4 MiB here; without one the heap after GC moves by about 1.4 MiB.
    expect(heapAfter.heapUsed - heapBefore.heapUsed).toBeLessThan(4 * MiB);
    expect(heapAfter.external - heapBefore.external).toBeLessThan(4 * MiB);
    // RSS, a bound only: allocator arenas and V8's heap sizing moved it between −11 and +49 MiB
    // over these runs with the heap after GC flat; the two checks above are the leak check.
    expect(rssAfter - rssBefore).toBeLessThan(128 * MiB);

    const stats = await stack.client.getStats({});
    expect(stats.bytes).toBe(0n); // nothing half-read was cached
    const whole = await get(stack.client, key);
    expect([whole.status, sha256(whole.body)]).toEqual([BYPASS, sha256(mid)]);
  }, 300_000);
});
