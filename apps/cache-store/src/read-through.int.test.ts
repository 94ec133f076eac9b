import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { cacheV1 } from "@breakwater/proto";
import { Code } from "@connectrpc/connect";
import {
  get,
  getFailure,
  readObject,
  startCacheStoreStack,
  type CacheStoreStack,
} from "./__fixtures__/cache-store-stack.js";

const { HIT, MISS } = cacheV1.CacheStatus;

describe("cache-store reads through to S3 (real processes: s3rver ← counting proxy ← cache-store ← grpc-js)", () => {
  let stack: CacheStoreStack;

  beforeAll(async () => {
    stack = await startCacheStoreStack();
  });
  afterAll(async () => {
    if (stack !== undefined) expect(await stack.close()).toBe(0); // a clean SIGTERM shutdown
  });

  it("answers MISS from S3, then HIT from memory without a second S3 GET", async () => {
    const body = randomBytes(100_000);
    await stack.seed("hit/after-miss.bin", body); // straight into S3: the cache-store has not seen it

    const first = await get(stack.client, "hit/after-miss.bin");
    expect(first.status).toBe(MISS);
    expect(first.body.equals(body)).toBe(true);
    const md5 = createHash("md5").update(body).digest("hex");
    expect(first.first.info).toMatchObject({
      bucket: "default",
      key: "hit/after-miss.bin",
      size: 100_000n,
      etag: `"${md5}"`,
    });
    expect(stack.s3Gets("hit/after-miss.bin")).toBe(1);

    const second = await get(stack.client, "hit/after-miss.bin");
    expect(second.status).toBe(HIT);
    expect(second.body.equals(body)).toBe(true);
    // Chunks are at most 64 KiB: 100 000 bytes are two messages.
    expect(second.messages).toBe(2);
    expect(stack.s3Gets("hit/after-miss.bin")).toBe(1);
  });

  it("a zero-byte object: one message with the info and an empty body, MISS then HIT", async () => {
    const key = "hit/empty.bin";
    await stack.seed(key, new Uint8Array(0));
    const first = await get(stack.client, key);
    expect([cacheV1.CacheStatus[first.status], first.messages, first.body.byteLength]).toEqual(["MISS", 1, 0]);
    const emptyMd5 = '"d41d8cd98f00b204e9800998ecf8427e"';
    expect(first.first.info).toMatchObject({ bucket: "default", key, size: 0n, etag: emptyMd5 });
    const second = await get(stack.client, key);
    expect([cacheV1.CacheStatus[second.status], second.messages, second.body.byteLength]).toEqual(["HIT", 1, 0]);
    expect(second.first.info?.size).toBe(0n);
    expect(stack.s3Gets(key)).toBe(1);
  });

  it("writes through: after a PutObject the next read is a HIT with S3's etag, type, metadata; no S3 GET", async () => {
    const body = randomBytes(100_000);
    const stored = await stack.put("hit/after-put.bin", body, {
      contentType: "application/x-test",
      metadata: { Owner: "ann" },
    });
    const first = await get(stack.client, "hit/after-put.bin");
    expect(first.status).toBe(HIT);
    expect(first.body.equals(body)).toBe(true);
    expect(stack.s3Gets("hit/after-put.bin")).toBe(0);
    expect(first.first.info).toMatchObject({
      size: 100_000n,
      etag: stored.etag,
      contentType: "application/x-test",
      metadata: { owner: "ann" },
    });
    // The same as S3's own answer, Last-Modified to the second or one off (S3 does not send it with a put).
    await stack.client.invalidateCache({ bucket: "default", key: "hit/after-put.bin" });
    const fromS3 = await get(stack.client, "hit/after-put.bin");
    expect(fromS3.status).toBe(MISS);
    const { lastModified: written, ...writtenRest } = first.first.info!;
    const { lastModified: read, ...readRest } = fromS3.first.info!;
    expect(writtenRest).toEqual(readRest);
    expect(Math.abs(Number(written!.seconds - read!.seconds))).toBeLessThanOrEqual(1);
  });

  it("coalesces 1 000 concurrent reads of a cold key over 4 channels into exactly one S3 GET", async () => {
    const body = randomBytes(20_000);
    await stack.seed("coalesce/cold.bin", body);
    const clients = [stack.client, stack.newClient(), stack.newClient(), stack.newClient()];
    await Promise.all(clients.map((c) => c.getStats({}))); // connect every channel before the burst
    // Slow storage: every call of the burst arrives while the one S3 GET is pending.
    stack.proxy.setMode({ kind: "delay", ms: 2_000 });
    const started = performance.now();
    let reads: Awaited<ReturnType<typeof readObject>>[];
    try {
      reads = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          readObject(clients[i % clients.length]!, { bucket: "default", key: "coalesce/cold.bin" }),
        ),
      );
    } finally {
      stack.proxy.setMode({ kind: "pass" });
    }
    const elapsed = performance.now() - started;

    expect(stack.s3Gets("coalesce/cold.bin")).toBe(1);
    const statuses = reads.map((r) => cacheV1.CacheStatus[r.status]);
    expect(statuses.filter((s) => s === "MISS")).toHaveLength(1);
    expect(statuses.filter((s) => s === "COALESCED")).toHaveLength(999);
    for (const r of reads) expect(r.body.equals(body)).toBe(true);
    console.info(
      `1 000 concurrent cold reads: ${stack.s3Gets("coalesce/cold.bin")} S3 GET, ` +
        `${elapsed.toFixed(0)} ms (2 000 ms of it storage delay)`,
    );

    expect((await get(stack.newClient(), "coalesce/cold.bin")).status).toBe(HIT);
    expect(stack.s3Gets("coalesce/cold.bin")).toBe(1);
  });

  // stack.put waits until s3rver serves the new bytes: s3rver acknowledges a PUT before its file is
  // written, and under load a GET right after read an empty or older file (5 of 200 rounds in one
  // run, both as MISS, i.e. straight from s3rver). What is checked here is the cache: the copy it
  // held before the put is never served after it.
  it("never returns the old body after a put through the same instance (200 rounds, cached before each)", async () => {
    const key = "rw/versioned.txt";
    await stack.put(key, "v0");
    expect((await get(stack.client, key)).body.toString()).toBe("v0");
    const stale: string[] = [];
    for (let i = 1; i <= 200; i++) {
      const before = await get(stack.client, key);
      // The previous round's read cached v(i-1): the put below must displace a cached copy.
      if (before.status !== HIT || before.body.toString() !== `v${i - 1}`)
        stale.push(`round ${i} before: ${before.body} ${before.status}`);
      await stack.put(key, `v${i}`);
      const after = await get(stack.client, key);
      if (after.body.toString() !== `v${i}`)
        stale.push(`round ${i}: got ${after.body} (${cacheV1.CacheStatus[after.status]})`);
    }
    expect(stale).toEqual([]);
  });

  it("DeleteObject deletes in S3; the next read is NOT_FOUND, S3 not asked; a missing key deletes fine", async () => {
    const key = "del/gone.txt";
    await stack.put(key, "soon gone");
    expect((await get(stack.client, key)).status).toBe(HIT); // written through
    const getsBefore = stack.s3Gets(key);

    await stack.client.deleteObject({ bucket: "default", key });
    expect(stack.proxy.count("DELETE", `/default/${key}`)).toBe(1);
    expect((await fetch(`${stack.s3.endpoint}/default/${key}`)).status).toBe(404); // straight at s3rver

    const missing = await getFailure(stack.client, key);
    expect(missing.code).toBe(Code.NotFound);
    expect((await getFailure(stack.newClient(), key)).code).toBe(Code.NotFound);
    expect(stack.s3Gets(key)).toBe(getsBefore); // the delete left a cached 404

    // Idempotent: deleting what is not there succeeds, is still sent to storage, and leaves nothing there.
    const never = "del/never-existed.txt";
    expect(await stack.client.deleteObject({ bucket: "default", key: never })).toMatchObject({});
    expect(stack.proxy.count("DELETE", `/default/${never}`)).toBe(1);
    expect((await getFailure(stack.client, never)).code).toBe(Code.NotFound);
    expect(await stack.client.deleteObject({ bucket: "default", key })).toMatchObject({});
    expect(stack.proxy.count("DELETE", `/default/${key}`)).toBe(2);
    expect(await stack.stored(key)).toBeUndefined();
    expect((await getFailure(stack.client, key)).code).toBe(Code.NotFound);
  });

  it("caches a 404 from S3 (CACHE_NEGATIVE_TTL): a second read of a missing key makes no S3 GET", async () => {
    expect((await getFailure(stack.client, "neg/missing.txt")).code).toBe(Code.NotFound);
    expect(stack.s3Gets("neg/missing.txt")).toBe(1);
    expect((await getFailure(stack.client, "neg/missing.txt")).code).toBe(Code.NotFound);
    expect(stack.s3Gets("neg/missing.txt")).toBe(1);
    // A put replaces the cached 404 at once.
    await stack.put("neg/missing.txt", "now here");
    expect((await get(stack.client, "neg/missing.txt")).body.toString()).toBe("now here");
  });
});
