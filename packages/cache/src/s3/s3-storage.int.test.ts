import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { freePort, startCountingProxy, startS3Server, type CountingProxy, type S3Server } from "@breakwater/testkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isCacheError, type CacheErrorKind } from "../errors.js";
import type { ObjectStorage, StorageGetResult } from "../storage.js";
import { createS3Client } from "./s3-client.js";
import { resolveS3Options } from "./s3-options.js";
import { createS3Storage, type S3Storage, type S3StorageOptions } from "./index.js";

const MiB = 1024 * 1024;
const bucket = "default";

let s3: S3Server;
let proxy: CountingProxy;
let storage: S3Storage;
const opened: S3Storage[] = [];

/** A storage through the counting proxy (so tests can count S3 calls and see sockets). */
function open(extra: Partial<S3StorageOptions> = {}, endpoint = proxy.url): S3Storage {
  const created = createS3Storage({
    endpoint,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ...extra,
  });
  opened.push(created);
  return created;
}

beforeAll(async () => {
  s3 = await startS3Server();
  proxy = await startCountingProxy(s3.endpoint);
  storage = open();
});
afterAll(async () => {
  for (const s of opened) s.close();
  // Teardown check: closing the adapters released every connection.
  for (let waited = 0; proxy.openConnections > 0 && waited < 5_000; waited += 20) await sleep(20);
  expect(proxy.openConnections).toBe(0);
  await proxy.close();
  await s3.close();
});
beforeEach(() => {
  proxy.setMode({ kind: "pass" });
  proxy.reset();
});
// Also after: a describe's beforeAll runs before the next beforeEach.
afterEach(() => {
  proxy.setMode({ kind: "pass" });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function* chunked(data: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function bytes(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

function object(result: StorageGetResult): Extract<StorageGetResult, { kind: "object" }> {
  if (result.kind !== "object") throw new Error(`expected an object, got ${result.kind}`);
  return result;
}

async function read(s: ObjectStorage, key: string): Promise<Buffer> {
  return bytes(object(await s.get(bucket, key)).body);
}

const md5 = (b: Uint8Array): string => `"${createHash("md5").update(b).digest("hex")}"`;
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Resolves to the CacheError kind a promise rejects with (fails the test if it resolves). */
async function kindOf(p: Promise<unknown>): Promise<CacheErrorKind> {
  try {
    await p;
  } catch (err) {
    if (isCacheError(err)) return err.kind;
    throw err;
  }
  throw new Error("expected a CacheError, got a result");
}

describe("S3 storage (s3rver)", () => {
  it("names its backend after the endpoint", () => {
    expect(storage.backend).toBe(`s3:${proxy.url}`);
  });

  it("round-trips a small object with its content type and user metadata", async () => {
    const data = Buffer.from("hello, breakwater");
    const put = await storage.put(bucket, "dir/small.txt", chunked(data, 5), {
      contentType: "text/plain; charset=utf-8",
      metadata: { color: "blue", "Mixed-Case": "Value Kept" },
    });
    expect(put).toEqual({ etag: md5(data), size: data.length });
    expect(proxy.count("PUT", "/default/dir/small.txt")).toBe(1);

    const got = object(await storage.get(bucket, "dir/small.txt"));
    expect(got.range).toBeUndefined();
    expect(got.meta).toMatchObject({
      size: data.length,
      contentType: "text/plain; charset=utf-8",
      etag: md5(data),
      metadata: { color: "blue", "mixed-case": "Value Kept" },
    });
    expect(got.meta.lastModified).toBeInstanceOf(Date);
    expect(Math.abs(got.meta.lastModified.getTime() - Date.now())).toBeLessThan(60_000);
    expect(await bytes(got.body)).toEqual(data);

    const head = await storage.head(bucket, "dir/small.txt");
    expect(head).toEqual(got.meta);
  });

  it("stores an empty body, typed application/octet-stream by default", async () => {
    expect(await storage.put(bucket, "empty", chunked(new Uint8Array(0)))).toEqual({
      etag: md5(new Uint8Array(0)),
      size: 0,
    });
    const got = object(await storage.get(bucket, "empty"));
    expect(got.meta).toMatchObject({ size: 0, contentType: "application/octet-stream", metadata: {} });
    expect((await bytes(got.body)).length).toBe(0);
  });

  it("uploads ~20 MiB of unknown length as multipart, byte-exact", async () => {
    const data = randomBytes(20 * MiB + 12_345);
    const put = await storage.put(bucket, "big/unknown", chunked(data), {
      contentType: "application/x-big",
      metadata: { n: "1" },
    });
    expect(put.size).toBe(data.length);
    expect(put.etag).toMatch(/^".+"$/);
    // CreateMultipartUpload + CompleteMultipartUpload, and 3 parts of ≤ 8 MiB.
    expect(proxy.count("POST", "/default/big/unknown")).toBe(2);
    expect(proxy.count("PUT", "/default/big/unknown")).toBe(3);
    const got = object(await storage.get(bucket, "big/unknown"));
    expect(got.meta).toMatchObject({
      size: data.length,
      contentType: "application/x-big",
      metadata: { n: "1" },
      etag: put.etag,
    });
    expect(sha(await bytes(got.body))).toBe(sha(data));
  });

  it("goes multipart at once for a declared length over the threshold, single-part at or under it", async () => {
    const small = open({ multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB });
    const over = randomBytes(6 * MiB + 1);
    await small.put(bucket, "declared/over", chunked(over), { contentLength: over.length });
    expect(proxy.count("POST", "/default/declared/over")).toBe(2);
    const under = over.subarray(0, 6 * MiB);
    await small.put(bucket, "declared/under", chunked(under), { contentLength: under.length });
    expect(proxy.count("PUT", "/default/declared/under")).toBe(1);
    expect(proxy.count("POST", "/default/declared/under")).toBe(0);
    expect(sha(await read(small, "declared/over"))).toBe(sha(over));
    expect(sha(await read(small, "declared/under"))).toBe(sha(under));
  });

  it("refuses a body whose length differs from the declared one, leaving no object", async () => {
    const data = randomBytes(1000);
    expect(await kindOf(storage.put(bucket, "liar/small", chunked(data), { contentLength: 999 }))).toBe(
      "invalid-argument",
    );
    const big = randomBytes(9 * MiB);
    expect(await kindOf(storage.put(bucket, "liar/big", chunked(big), { contentLength: 10 * MiB }))).toBe(
      "invalid-argument",
    );
    expect(await kindOf(storage.put(bucket, "liar/longer", chunked(big), { contentLength: 8 * MiB + 1 }))).toBe(
      "invalid-argument",
    );
    for (const key of ["liar/small", "liar/big", "liar/longer"]) {
      expect(await kindOf(storage.head(bucket, key))).toBe("not-found");
    }
  });

  describe("the aws-chunked trap (design.md, Known traps)", () => {
    const data = Buffer.from("a streamed body must be stored exactly as sent\n".repeat(100));

    it("stores a streamed PutObject byte-exact with the adapter's client settings", async () => {
      const client = createS3Client(
        resolveS3Options({
          endpoint: s3.endpoint,
          credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        }),
      );
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: "trap/required",
            Body: Readable.from([data]),
            ContentLength: data.length,
          }),
        );
      } finally {
        client.destroy();
      }
      const stored = await read(storage, "trap/required");
      expect(stored.toString()).not.toContain("x-amz-checksum");
      expect(stored.equals(data)).toBe(true);
    });

    it("would catch the trap: default checksums store the framing inside the object", async () => {
      // Control for the test above. If this starts failing, SDK or s3rver no
      // longer show the trap; the guard above stays.
      const client = new S3Client({
        endpoint: s3.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        requestChecksumCalculation: "WHEN_SUPPORTED",
      });
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: "trap/supported",
            Body: Readable.from([data]),
            ContentLength: data.length,
          }),
        );
      } finally {
        client.destroy();
      }
      const stored = await read(storage, "trap/supported");
      expect(stored.equals(data)).toBe(false);
      expect(stored.toString()).toContain("x-amz-checksum-crc32");
    });
  });

  describe("ranges", () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    beforeAll(async () => {
      await storage.put(bucket, "ranged", chunked(data, 100));
      await storage.put(bucket, "ranged-empty", chunked(new Uint8Array(0)));
    });

    it.each([
      ["bytes=a-b", { start: 2, end: 5 }, { start: 2, end: 5 }],
      ["bytes=a-b past the end", { start: 995, end: 5000 }, { start: 995, end: 999 }],
      ["bytes=a-", { start: 990 }, { start: 990, end: 999 }],
      ["bytes=-n", { suffix: 3 }, { start: 997, end: 999 }],
      ["bytes=-n longer than the object", { suffix: 5000 }, { start: 0, end: 999 }],
    ] as const)("reads %s", async (_name, range, want) => {
      const got = object(await storage.get(bucket, "ranged", { range }));
      expect(got.range).toEqual(want);
      expect(got.meta.size).toBe(1000);
      expect(await bytes(got.body)).toEqual(data.subarray(want.start, want.end + 1));
    });

    it.each([
      ["a start past the end", { start: 1000 }, "ranged", 1000],
      ["a suffix of 0", { suffix: 0 }, "ranged", 1000],
      ["any range of an empty object", { start: 0 }, "ranged-empty", 0],
    ] as const)("answers range-not-satisfiable with the size for %s", async (_name, range, key, size) => {
      const err: unknown = await storage.get(bucket, key, { range }).catch((e: unknown) => e);
      expect(isCacheError(err, "range-not-satisfiable")).toBe(true);
      expect(isCacheError(err) && err.objectSize).toBe(size);
    });

    it("rejects a malformed range before asking storage", async () => {
      expect(await kindOf(storage.get(bucket, "ranged", { range: { start: 5, end: 2 } }))).toBe("invalid-argument");
      expect(await kindOf(storage.get(bucket, "ranged", { range: { start: -1 } }))).toBe("invalid-argument");
      expect(await kindOf(storage.get(bucket, "ranged", { range: { suffix: 1.5 } }))).toBe("invalid-argument");
      expect(proxy.requests).toEqual([]);
    });
  });

  describe("conditional reads", () => {
    let etag: string;
    beforeAll(async () => {
      etag = (await storage.put(bucket, "cond", chunked(Buffer.from("v1")))).etag;
    });

    it("answers not-modified when If-None-Match holds (S3's 304)", async () => {
      expect(await storage.get(bucket, "cond", { ifNoneMatch: etag })).toEqual({ kind: "not-modified" });
      expect(await storage.get(bucket, "cond", { ifNoneMatch: etag, range: { start: 0, end: 0 } })).toEqual({
        kind: "not-modified",
      });
      expect(proxy.count("GET", "/default/cond")).toBe(2);
    });

    it("answers the object when the etag differs", async () => {
      const got = object(await storage.get(bucket, "cond", { ifNoneMatch: '"stale"' }));
      expect(await bytes(got.body)).toEqual(Buffer.from("v1"));
    });
  });

  describe("missing things and bad names", () => {
    it("maps a missing key or bucket to not-found", async () => {
      expect(await kindOf(storage.get(bucket, "no/such/key"))).toBe("not-found");
      expect(await kindOf(storage.head(bucket, "no/such/key"))).toBe("not-found");
      expect(await kindOf(storage.get("no-such-bucket", "k"))).toBe("not-found");
      expect(await kindOf(storage.put("no-such-bucket", "k", chunked(Buffer.from("x"))))).toBe("not-found");
    });

    it("rejects bucket names S3 refuses (s3rver's 2-letter trap) and empty keys, without a request", async () => {
      expect(await kindOf(storage.get("ab", "k"))).toBe("invalid-argument");
      expect(await kindOf(storage.put("Upper_Case", "k", chunked(Buffer.from("x"))))).toBe("invalid-argument");
      expect(await kindOf(storage.delete(bucket, ""))).toBe("invalid-argument");
      expect(await kindOf(storage.put(bucket, "k", chunked(Buffer.from("x")), { metadata: { "bad name": "x" } }))).toBe(
        "invalid-argument",
      );
      expect(proxy.requests).toEqual([]);
    });

    it("deletes idempotently", async () => {
      await storage.put(bucket, "doomed", chunked(Buffer.from("x")));
      await storage.delete(bucket, "doomed");
      await storage.delete(bucket, "doomed");
      expect(await kindOf(storage.get(bucket, "doomed"))).toBe("not-found");
      expect(proxy.count("DELETE", "/default/doomed")).toBe(2);
    });
  });

  describe("conditional writes", () => {
    it("refuses If-None-Match: * on an existing key, and takes it on a new one", async () => {
      await storage.put(bucket, "cw/exists", chunked(Buffer.from("first")));
      expect(await kindOf(storage.put(bucket, "cw/exists", chunked(Buffer.from("second")), { ifNoneMatch: "*" }))).toBe(
        "precondition-failed",
      );
      expect(await read(storage, "cw/exists")).toEqual(Buffer.from("first"));
      await storage.put(bucket, "cw/new", chunked(Buffer.from("fresh")), { ifNoneMatch: "*" });
      expect(await read(storage, "cw/new")).toEqual(Buffer.from("fresh"));
    });

    it("writes under If-Match only when the etag is the current one", async () => {
      const { etag } = await storage.put(bucket, "cw/match", chunked(Buffer.from("one")));
      expect(await kindOf(storage.put(bucket, "cw/match", chunked(Buffer.from("two")), { ifMatch: '"0000"' }))).toBe(
        "precondition-failed",
      );
      expect(await read(storage, "cw/match")).toEqual(Buffer.from("one"));
      const next = await storage.put(bucket, "cw/match", chunked(Buffer.from("two")), { ifMatch: etag });
      expect(next.etag).toBe(md5(Buffer.from("two")));
      expect(await kindOf(storage.put(bucket, "cw/missing", chunked(Buffer.from("x")), { ifMatch: etag }))).toBe(
        "precondition-failed",
      );
    });

    it("checks the condition of a multipart upload before sending a byte", async () => {
      await storage.put(bucket, "cw/big", chunked(Buffer.from("small")));
      proxy.reset();
      expect(await kindOf(storage.put(bucket, "cw/big", chunked(randomBytes(9 * MiB)), { ifNoneMatch: "*" }))).toBe(
        "precondition-failed",
      );
      expect(proxy.counts()).toEqual({ "HEAD /default/cw/big": 1 });
    });
  });

  describe("failing storage", () => {
    it("maps a closed port to unavailable for every call", async () => {
      const dead = open({}, `http://127.0.0.1:${await freePort()}`);
      expect(await kindOf(dead.get(bucket, "k"))).toBe("unavailable");
      expect(await kindOf(dead.head(bucket, "k"))).toBe("unavailable");
      expect(await kindOf(dead.put(bucket, "k", chunked(Buffer.from("x"))))).toBe("unavailable");
      expect(await kindOf(dead.delete(bucket, "k"))).toBe("unavailable");
    });

    it("maps 503, connection resets and 429 to unavailable, with one attempt each", async () => {
      await storage.put(bucket, "flaky", chunked(Buffer.from("x")));
      proxy.reset();
      proxy.setMode({
        kind: "status",
        status: 503,
        headers: { "content-type": "application/xml" },
        body: "<Error><Code>SlowDown</Code></Error>",
      });
      expect(await kindOf(storage.get(bucket, "flaky"))).toBe("unavailable");
      proxy.setMode({ kind: "status", status: 429 });
      expect(await kindOf(storage.head(bucket, "flaky"))).toBe("unavailable");
      proxy.setMode({ kind: "reset" });
      expect(await kindOf(storage.get(bucket, "flaky"))).toBe("unavailable");
      expect(proxy.requests.length).toBe(3);
    });

    it("bounds a hung store with the request timeout", async () => {
      const impatient = open({ requestTimeoutMs: 300 });
      proxy.setMode({ kind: "black-hole" });
      const started = performance.now();
      expect(await kindOf(impatient.get(bucket, "k"))).toBe("unavailable");
      expect(performance.now() - started).toBeLessThan(3_000);
    });
  });

  describe("cancellation", () => {
    const data = randomBytes(2 * MiB);
    beforeAll(async () => {
      await storage.put(bucket, "abortable", chunked(data));
    });

    it("releases the socket of 200 downloads aborted mid-body; the next read is quick", async () => {
      // A pool of 4: a single leaked socket per abort would starve it long before 200.
      const small = open({ maxSockets: 4, requestTimeoutMs: 5_000 });
      const before = proxy.openConnections;
      for (let i = 0; i < 200; i++) {
        const controller = new AbortController();
        const got = object(await small.get(bucket, "abortable", { signal: controller.signal }));
        const it = got.body[Symbol.asyncIterator]();
        expect((await it.next()).done).toBe(false);
        controller.abort();
        expect(await kindOf(it.next())).toBe("cancelled");
      }
      await expect.poll(() => proxy.openConnections).toBeLessThanOrEqual(before + 4);
      const started = performance.now();
      expect(sha(await read(small, "abortable"))).toBe(sha(data));
      expect(performance.now() - started).toBeLessThan(1_000);
    });

    it("releases the socket if the reader stops early (break, return() unread) or aborts before reading", async () => {
      const small = open({ maxSockets: 2, requestTimeoutMs: 5_000 });
      for (let i = 0; i < 20; i++) {
        for await (const _ of object(await small.get(bucket, "abortable")).body) break;
        await object(await small.get(bucket, "abortable"))
          .body[Symbol.asyncIterator]()
          .return?.();
        const controller = new AbortController();
        const got = object(await small.get(bucket, "abortable", { signal: controller.signal }));
        controller.abort();
        expect(await kindOf(bytes(got.body))).toBe("cancelled");
      }
      expect(sha(await read(small, "abortable"))).toBe(sha(data));
    });

    it("cancels a request that has no answer yet, and one aborted before it starts", async () => {
      proxy.setMode({ kind: "black-hole" });
      const controller = new AbortController();
      const pending = storage.get(bucket, "abortable", { signal: controller.signal });
      await expect.poll(() => proxy.requests.length).toBe(1);
      controller.abort();
      expect(await kindOf(pending)).toBe("cancelled");
      expect(await kindOf(storage.get(bucket, "abortable", { signal: AbortSignal.abort() }))).toBe("cancelled");
      expect(await kindOf(storage.put(bucket, "never", chunked(data), { signal: AbortSignal.abort() }))).toBe(
        "cancelled",
      );
      // A body that stalls does not hold a cancelled put.
      const stalled = new AbortController();
      async function* stalls(): AsyncGenerator<Uint8Array> {
        yield Buffer.from("some");
        await new Promise(() => undefined);
      }
      const put = storage.put(bucket, "stalled", stalls(), { signal: stalled.signal });
      setTimeout(() => stalled.abort(), 20);
      expect(await kindOf(put)).toBe("cancelled");
    });

    it("leaves no object when a multipart upload is aborted or its body fails", async () => {
      const controller = new AbortController();
      async function* slow(): AsyncGenerator<Uint8Array> {
        yield randomBytes(8 * MiB);
        yield randomBytes(8 * MiB);
        // The first part is on its way: cancel the rest.
        await expect.poll(() => proxy.count("PUT", "/default/aborted")).toBeGreaterThan(0);
        controller.abort();
        yield randomBytes(8 * MiB);
      }
      expect(await kindOf(storage.put(bucket, "aborted", slow(), { signal: controller.signal }))).toBe("cancelled");

      let returned = false;
      async function* failing(): AsyncGenerator<Uint8Array> {
        try {
          yield randomBytes(9 * MiB);
          throw new Error("client stream broke");
        } finally {
          returned = true;
        }
      }
      // The caller's body broke: the writer gave up, no fault of storage.
      expect(await kindOf(storage.put(bucket, "failed", failing()))).toBe("cancelled");
      expect(returned).toBe(true);

      // Nothing was completed (s3rver's 405 to AbortMultipartUpload was tolerated).
      await expect.poll(() => proxy.count("DELETE", "/default/failed")).toBe(1);
      expect(proxy.count("POST", "/default/aborted")).toBe(1);
      expect(proxy.count("POST", "/default/failed")).toBe(1);
      expect(await kindOf(storage.head(bucket, "aborted"))).toBe("not-found");
      expect(await kindOf(storage.head(bucket, "failed"))).toBe("not-found");
    });
  });
});
