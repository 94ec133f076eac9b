import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { cacheV1 } from "@breakwater/proto";
import { Code } from "@connectrpc/connect";
import {
  chunksOf,
  failure,
  get,
  getFailure,
  put,
  putMessages,
  startCacheStoreStack,
  type CacheStoreStack,
} from "./__fixtures__/cache-store-stack.js";

const MAX_PUT = 64 * 1024;

// Names S3 would refuse or that cannot be a cache key, and the words the answer must use.
const badNames: [string, string, string, RegExp][] = [
  ["empty key", "default", "", /key is empty/],
  ["key over 1024 bytes", "default", "k".repeat(1025), /longer than 1024 bytes/],
  ["key of 513 two-byte characters (1026 bytes)", "default", "é".repeat(513), /longer than 1024 bytes/],
  ["2-letter bucket", "ab", "a.txt", /not a valid S3 bucket name/],
  ["bucket with upper case", "Default", "a.txt", /not a valid S3 bucket name/],
  ["empty bucket", "", "a.txt", /bucket is empty/],
  ["key with a control character", "default", "a\u0001b.txt", /control characters/],
  ["key with a newline", "default", "a\nb.txt", /control characters/],
];

describe("cache-store refuses bad input with a clear status and keeps answering", () => {
  let stack: CacheStoreStack;

  beforeAll(async () => {
    stack = await startCacheStoreStack({ env: { MAX_PUT_BYTES: `${MAX_PUT}` } });
  });
  afterAll(async () => {
    if (stack !== undefined) expect(await stack.close()).toBe(0); // a clean SIGTERM shutdown
  });

  it.each(badNames)(
    "%s → INVALID_ARGUMENT on Get, Head, Put and Delete, without an S3 call",
    async (_what, bucket, key, message) => {
      const before = stack.proxy.requests.length;
      const errors = [
        await getFailure(stack.client, key, bucket),
        await failure(stack.client.headObject({ bucket, key })),
        await failure(stack.client.deleteObject({ bucket, key })),
        await failure(
          stack.client.putObject(
            putMessages(create(cacheV1.PutObjectHeaderSchema, { bucket, key }), [Buffer.from("x")]),
          ),
        ),
      ];
      for (const err of errors) {
        expect(err.code).toBe(Code.InvalidArgument);
        expect(err.rawMessage).toMatch(message);
      }
      expect(stack.proxy.requests.length).toBe(before);
    },
  );

  it("InvalidateCache checks names too (an empty prefix is the whole bucket, an empty key is not)", async () => {
    expect((await failure(stack.client.invalidateCache({ bucket: "ab", key: "x", prefix: true }))).code).toBe(
      Code.InvalidArgument,
    );
    expect((await failure(stack.client.invalidateCache({ bucket: "default", key: "" }))).code).toBe(
      Code.InvalidArgument,
    );
    // An empty prefix drops every entry of the bucket: each read after it goes to storage again.
    const keys = ["purge/a.txt", "purge/dir/b.txt", "other.txt"];
    for (const k of keys) await stack.put(k, `body of ${k}`);
    for (const k of keys) expect((await get(stack.client, k)).status).toBe(cacheV1.CacheStatus.HIT);
    const entries = (await stack.client.getStats({})).entries;
    const purged = await stack.client.invalidateCache({ bucket: "default", key: "", prefix: true });
    expect(purged.invalidatedEntries).toBe(entries); // every entry here is in "default"
    expect(purged.invalidatedEntries).toBeGreaterThanOrEqual(BigInt(keys.length));
    expect((await stack.client.getStats({})).entries).toBe(0n);
    for (const k of keys) {
      const gets = stack.s3Gets(k);
      const after = await get(stack.client, k);
      expect([after.body.toString(), cacheV1.CacheStatus[after.status]]).toEqual([`body of ${k}`, "MISS"]);
      expect(stack.s3Gets(k)).toBe(gets + 1);
    }
  });

  it("a put over MAX_PUT_BYTES, declared or found mid-stream, is RESOURCE_EXHAUSTED and stores nothing", async () => {
    const declared = await failure(
      stack.client.putObject(
        putMessages(
          create(cacheV1.PutObjectHeaderSchema, {
            bucket: "default",
            key: "big/declared.bin",
            contentLength: BigInt(MAX_PUT + 1),
          }),
          [],
        ),
      ),
    );
    expect(declared.code).toBe(Code.ResourceExhausted);
    expect(declared.rawMessage).toMatch(`limit of ${MAX_PUT} bytes`);

    const streamed = await failure(put(stack.client, "big/streamed.bin", randomBytes(MAX_PUT + 1)));
    expect(streamed.code).toBe(Code.ResourceExhausted);

    // Exactly the limit is allowed.
    await expect(put(stack.client, "big/exact.bin", randomBytes(MAX_PUT))).resolves.toMatchObject({
      size: BigInt(MAX_PUT),
    });

    expect(await stack.stored("big/declared.bin")).toBeUndefined();
    expect(await stack.stored("big/streamed.bin")).toBeUndefined();
    expect(stack.proxy.count("PUT", "/default/big/declared.bin")).toBe(0);
  });

  // Found by this test: these were CANCELLED, because the S3 adapter
  // takes any non-CacheError from a body for the writer giving up.
  it.each([
    ["shorter", 10n, "12345", /5 bytes, not the declared content_length 10/],
    ["longer", 3n, "12345", /longer than the declared content_length 3/],
  ])(
    "a body %s than its declared content_length is INVALID_ARGUMENT and stores nothing",
    async (what, length, body, message) => {
      const key = `len/${what}.bin`;
      const header = create(cacheV1.PutObjectHeaderSchema, { bucket: "default", key, contentLength: length });
      const err = await failure(stack.client.putObject(putMessages(header, chunksOf(Buffer.from(body)))));
      expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, expect.stringMatching(message)]);
      expect(await stack.stored(key)).toBeUndefined();
    },
  );

  it("a second header in a PutObject stream is INVALID_ARGUMENT", async () => {
    const header = create(cacheV1.PutObjectHeaderSchema, { bucket: "default", key: "len/two-headers.bin" });
    async function* twoHeaders(): AsyncGenerator<MessageInitShape<typeof cacheV1.PutObjectRequestSchema>> {
      yield { part: { case: "header", value: header } };
      yield { part: { case: "chunk", value: Buffer.from("x") } };
      yield { part: { case: "header", value: header } };
    }
    const err = await failure(stack.client.putObject(twoHeaders()));
    expect([err.code, err.rawMessage]).toEqual([
      Code.InvalidArgument,
      expect.stringMatching(/only the first PutObject message may be a header/),
    ]);
    expect(await stack.stored("len/two-headers.bin")).toBeUndefined();
  });

  it("a PutObject stream must open with its header", async () => {
    async function* chunkFirst(): AsyncGenerator<MessageInitShape<typeof cacheV1.PutObjectRequestSchema>> {
      yield { part: { case: "chunk", value: Buffer.from("no header") } };
    }
    const err = await failure(stack.client.putObject(chunkFirst()));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/first PutObject message must be the header/);
  });

  it("keeps answering afterwards: the process is up and a put and get round-trip", async () => {
    expect(stack.process.child.exitCode).toBeNull();
    await stack.put("after/ok.txt", "still here");
    expect((await get(stack.client, "after/ok.txt")).body.toString()).toBe("still here");
    const stats = await stack.newClient().getStats({});
    expect(stats.hits).toBeGreaterThanOrEqual(1n); // the read just above was a hit, counted
    expect(stats.entries).toBeGreaterThanOrEqual(1n);
  });
});
