import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { cacheV1 } from "@breakwater/proto";
import { isCacheError } from "@breakwater/cache";
import { createS3Storage, type S3Storage } from "@breakwater/cache/s3";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { scrapeSample } from "@breakwater/testkit";
import { httpRequest, startStack, type Stack } from "./__fixtures__/stack.js";

/** A key of exactly 1024 UTF-8 bytes, in segments short enough for s3rver's file names. */
const longestKey = Array.from({ length: 8 }, () => "k".repeat(127)).join("/") + "k";

/**
 * One table of names, each with the verdict every entry point must give:
 * `true` when the name is taken (the object is merely missing), `false` when
 * it is refused as the caller's mistake.
 */
const names: [string, string, string, boolean][] = [
  ["a plain name", "default", "a.txt", true],
  ["nested key", "default", "dir/sub/file.txt", true],
  ["3-character bucket", "abc", "a", true],
  ["63-character bucket", "a".repeat(63), "x", true],
  ["bucket with dots and hyphens", "my.bucket-1", "a", true],
  ["non-ASCII key", "default", "é/ü/日本.txt", true],
  ["dots that are not dot segments", "default", "..a/b../.../.hidden", true],
  ["1024-byte key", "default", longestKey, true],
  ["key with space, plus, percent", "default", "a b+c%25", true],
  ["empty bucket", "", "a", false],
  ["2-character bucket", "ab", "a", false],
  ["64-character bucket", "a".repeat(64), "a", false],
  ["upper-case bucket", "Default", "a", false],
  ["underscore in bucket", "my_bucket", "a", false],
  ["bucket ending in a hyphen", "abc-", "a", false],
  ["bucket with ..", "a..b", "a", false],
  ["IPv4-form bucket", "192.168.1.1", "a", false],
  ["empty key", "default", "", false],
  ["1025-byte key", "default", `${longestKey}k`, false],
  ["key with NUL", "default", "a\u0000b", false],
  ["key with a newline", "default", "a\nb", false],
  ["key with DEL", "default", "a\u007fb", false],
  ["key with a C1 control (NEL)", "default", "a\u0085b", false],
  ["key with a .. segment", "default", "a/../b", false],
  ["key with a . segment", "default", "./b", false],
];

describe("one verdict on a bucket or key, wherever it enters", () => {
  let stack: Stack;
  let cache: GrpcClient<typeof cacheV1.CacheService>;
  let storage: S3Storage;

  beforeAll(async () => {
    stack = await startStack();
    cache = createGrpcClient(cacheV1.CacheService, stack.cacheStore.grpcAddress);
    storage = createS3Storage({
      endpoint: stack.s3.endpoint,
      credentials: { accessKeyId: stack.s3.accessKeyId, secretAccessKey: stack.s3.secretAccessKey },
    });
  });
  afterAll(async () => {
    cache?.close();
    storage?.close();
    await stack?.stop();
  });

  it("the table's longest key is S3's limit exactly", () => {
    expect(Buffer.byteLength(longestKey)).toBe(1024);
  });

  it.each(names)("%s: gateway, CacheService and S3 adapter agree", async (_what, bucket, key, taken) => {
    // GetObject calls the cache-store refused: the gateway's own check must spare it the call.
    const refusedGets = (): Promise<number | undefined> =>
      scrapeSample(stack.cacheStore.httpUrl, "rpc_server_calls_total", {
        method: "/breakwater.cache.v1.CacheService/GetObject",
        code: "INVALID_ARGUMENT",
      });
    const refusedBefore = await refusedGets();
    // The gateway: the path percent-encoded, so it carries exactly these characters.
    const http = await httpRequest(
      stack.gateways[0]!.httpPort,
      "GET",
      `/objects/${encodeURIComponent(bucket)}/${encodeURIComponent(key)}`,
    );
    const grpc = await cache.headObject({ bucket, key }).then(
      () => "found",
      (err: unknown) => ConnectError.from(err),
    );
    const s3 = await storage.head(bucket, key).then(
      () => "found",
      (err: unknown) => err,
    );
    if (taken) {
      expect([http.status, grpc instanceof ConnectError && grpc.code]).toEqual([404, Code.NotFound]);
      expect(isCacheError(s3, "not-found")).toBe(true);
    } else {
      expect(http.status).toBe(400);
      expect(await refusedGets()).toBe(refusedBefore);
      expect(JSON.parse(http.body.toString())).toMatchObject({ code: "invalid_argument" });
      expect(grpc instanceof ConnectError && grpc.code).toBe(Code.InvalidArgument);
      expect(isCacheError(s3, "invalid-argument")).toBe(true);
      // One check, one message.
      const message = (s3 as Error).message;
      expect([JSON.parse(http.body.toString()).error, (grpc as ConnectError).rawMessage]).toEqual([message, message]);
    }
  });
});
