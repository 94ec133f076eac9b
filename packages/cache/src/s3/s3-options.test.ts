import { describe, expect, it } from "vitest";
import { resolveS3Options } from "./s3-options.js";

const credentials = { accessKeyId: "a", secretAccessKey: "b" };

describe("resolveS3Options", () => {
  it("fills in defaults and drops a trailing slash", () => {
    const o = resolveS3Options({ endpoint: "http://127.0.0.1:9000/", credentials });
    expect(o).toMatchObject({
      endpoint: "http://127.0.0.1:9000",
      region: "us-east-1",
      requestTimeoutMs: 30_000,
      maxAttempts: 1,
      multipartThresholdBytes: 8 * 1024 * 1024,
      partSizeBytes: 8 * 1024 * 1024,
      queueSize: 2,
    });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it.each([
    [{ endpoint: "not a url" }, /not a url/],
    [{ endpoint: "ftp://x" }, /ftp:/],
    [{ endpoint: "http://x", requestTimeoutMs: 0 }, /requestTimeoutMs.*0/],
    [{ endpoint: "http://x", maxSockets: 1.5 }, /maxSockets.*1\.5/],
    [{ endpoint: "http://x", partSizeBytes: 1024 }, /partSizeBytes.*1024/],
  ])("rejects %o with a RangeError naming the value", (bad, message) => {
    expect(() => resolveS3Options({ credentials, ...bad })).toThrow(RangeError);
    expect(() => resolveS3Options({ credentials, ...bad })).toThrow(message);
  });
});
