import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { cacheV1 } from "@breakwater/proto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  failure,
  get,
  readObject,
  startCacheStoreStack,
  type CacheStoreStack,
} from "./__fixtures__/cache-store-stack.js";

const { HIT, BYPASS } = cacheV1.CacheStatus;
const SIZE = 200_000;
type RangeInit = MessageInitShape<typeof cacheV1.ByteRangeSchema>;
/** The read options of a GetObject request. */
interface GetInit {
  readonly range?: RangeInit;
  readonly ifNoneMatch?: string;
  readonly ifModifiedSince?: Timestamp;
}

// The three forms of RFC 9110 14.1.2, and what each selects of a 200 000-byte object.
const forms: [string, RangeInit, number, number][] = [
  ["bytes=1000-1999", { start: 1000n, end: 1999n }, 1000, 1999],
  ["bytes=199000-", { start: 199_000n }, 199_000, SIZE - 1],
  ["bytes=-500", { suffixLength: 500n }, SIZE - 500, SIZE - 1],
  // Past the end is cut at the end (RFC 9110 14.1.1), not refused.
  ["bytes=199990-300000", { start: 199_990n, end: 300_000n }, 199_990, SIZE - 1],
];

describe("byte ranges and conditional reads through cache-store", () => {
  let stack: CacheStoreStack;
  const body = randomBytes(SIZE);

  beforeAll(async () => {
    stack = await startCacheStoreStack();
    await stack.put("ranges/cached.bin", body); // cached whole: written through
    await stack.seed("ranges/uncached.bin", body); // straight into S3, never read whole
  });
  afterAll(async () => {
    if (stack !== undefined) expect(await stack.close()).toBe(0); // a clean SIGTERM shutdown
  });

  it.each(forms)(
    "%s is cut from the cached object: HIT with content_range, no S3 call",
    async (_name, range, start, end) => {
      const gets = stack.s3Gets("ranges/cached.bin");
      const r = await readObject(stack.client, { bucket: "default", key: "ranges/cached.bin", range });
      expect(r.status).toBe(HIT);
      expect(r.first.contentRange).toMatchObject({ start: BigInt(start), end: BigInt(end) });
      expect(r.first.info?.size).toBe(BigInt(SIZE)); // the whole object's size
      expect(r.body.equals(body.subarray(start, end + 1))).toBe(true);
      expect(stack.s3Gets("ranges/cached.bin")).toBe(gets);
    },
  );

  it.each(forms)(
    "%s of an uncached object is passed to S3: BYPASS with content_range, nothing cached",
    async (_name, range, start, end) => {
      const gets = stack.s3Gets("ranges/uncached.bin");
      const r = await readObject(stack.client, { bucket: "default", key: "ranges/uncached.bin", range });
      expect(r.status).toBe(BYPASS);
      expect(r.first.contentRange).toMatchObject({ start: BigInt(start), end: BigInt(end) });
      expect(r.body.equals(body.subarray(start, end + 1))).toBe(true);
      expect(stack.s3Gets("ranges/uncached.bin")).toBeGreaterThan(gets);
    },
  );

  it("an unsatisfiable range is OUT_OF_RANGE with an object-size trailer, cached or not", async () => {
    for (const key of ["ranges/cached.bin", "ranges/uncached.bin"]) {
      for (const range of [
        { start: BigInt(SIZE) },
        { start: 500_000n, end: 600_000n },
        { suffixLength: 0n },
      ] as RangeInit[]) {
        const err = await failure(readObject(stack.client, { bucket: "default", key, range }));
        expect([key, range, err.code]).toEqual([key, range, Code.OutOfRange]);
        expect(err.metadata.get("object-size")).toBe(String(SIZE));
      }
    }
  });

  it("a malformed range (end before start) is INVALID_ARGUMENT", async () => {
    const err = await failure(
      readObject(stack.client, { bucket: "default", key: "ranges/cached.bin", range: { start: 10n, end: 5n } }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
  });

  it("range numbers at or over 2^53: INVALID_ARGUMENT or OUT_OF_RANGE with a clear message, and no crash", async () => {
    const huge = 2n ** 53n;
    const ranges: RangeInit[] = [
      { start: huge },
      { start: 0n, end: huge },
      { start: huge, end: huge + 1n },
      { suffixLength: huge },
      { start: 2n ** 64n - 1n },
      { suffixLength: 2n ** 64n - 1n },
    ];
    for (const key of ["ranges/cached.bin", "ranges/uncached.bin"]) {
      for (const range of ranges) {
        const r = await readObject(stack.client, { bucket: "default", key, range }).then(
          (ok) => ({ body: ok.body.byteLength, range: ok.first.contentRange }),
          (err: unknown) => err as Error,
        );
        if (!(r instanceof Error)) {
          // Past the end is cut at the end (RFC 9110 14.1.1): only a range that can be served is.
          expect([key, range, r.body]).toEqual([key, range, expect.any(Number)]);
          expect(r.range?.end).toBe(BigInt(SIZE - 1));
          continue;
        }
        const err = await failure(Promise.reject(r));
        expect([key, range, err.code]).toEqual([key, range, expect.toBeOneOf([Code.InvalidArgument, Code.OutOfRange])]);
        expect(err.rawMessage).toMatch(/range|suffix|start|end/i);
        expect(err.rawMessage).not.toMatch(/internal|undefined|NaN|Infinity/i);
      }
    }
    expect(stack.process.child.exitCode).toBeNull();
    expect((await get(stack.client, "ranges/cached.bin")).body.equals(body)).toBe(true);
  });

  describe("conditional reads on a cached object are answered from memory (no S3 call)", () => {
    const key = "ranges/cached.bin";
    let info: cacheV1.ObjectInfo;

    beforeAll(async () => {
      info = (await get(stack.client, key)).first.info!;
    });

    const notModified = async (request: GetInit): Promise<void> => {
      const gets = stack.s3Gets(key);
      const r = await readObject(stack.client, { bucket: "default", key, ...request });
      expect(r.first.notModified).toBe(true);
      expect([r.messages, r.body.length]).toEqual([1, 0]);
      expect(r.status).toBe(HIT);
      expect(r.first.info?.etag).toBe(info.etag);
      expect(stack.s3Gets(key)).toBe(gets);
    };
    const modified = async (request: GetInit): Promise<void> => {
      const gets = stack.s3Gets(key);
      const r = await readObject(stack.client, { bucket: "default", key, ...request });
      expect(r.first.notModified).toBe(false);
      expect(r.body.equals(body)).toBe(true);
      expect(stack.s3Gets(key)).toBe(gets);
    };
    const at = (offsetMs: number) =>
      timestampFromDate(new Date(timestampDate(info.lastModified!).getTime() + offsetMs));

    it("if_none_match: etag, its weak form, a list with it, or * → not_modified; another etag → the body", async () => {
      await notModified({ ifNoneMatch: info.etag });
      await notModified({ ifNoneMatch: `W/${info.etag}` }); // weak comparison (RFC 9110 13.1.2)
      await notModified({ ifNoneMatch: `"nope", ${info.etag}` });
      await notModified({ ifNoneMatch: "*" });
      await modified({ ifNoneMatch: '"0123456789abcdef"' });
    });

    it("if_modified_since: not newer → not_modified; older → the body; ignored when if_none_match is set", async () => {
      await notModified({ ifModifiedSince: at(0) });
      await notModified({ ifModifiedSince: at(3_600_000) });
      await modified({ ifModifiedSince: at(-3_600_000) });
      // RFC 9110 13.1.3: with If-None-Match present, If-Modified-Since is ignored.
      await modified({ ifNoneMatch: '"other"', ifModifiedSince: at(3_600_000) });
    });

    it("a condition that holds wins over a range (RFC 9110 13.2.2)", async () => {
      await notModified({ ifNoneMatch: info.etag, range: { start: 0n, end: 9n } });
    });
  });
});
