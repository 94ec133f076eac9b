import { describe, expect, it } from "vitest";
import { isCacheError } from "./errors.js";
import { checkObjectName } from "./object-names.js";

/** The verdict on a name: undefined when taken, else the refusal's message. */
function verdict(bucket: string, key: string, prefix = false): string | undefined {
  try {
    checkObjectName(bucket, key, { prefix });
    return undefined;
  } catch (err) {
    if (!isCacheError(err, "invalid-argument")) throw err;
    return err.message;
  }
}

describe("checkObjectName", () => {
  it.each([
    ["default", "a.txt"],
    ["abc", "a"],
    ["a".repeat(63), "x"],
    ["my.bucket-1", "dir/sub/file.txt"],
    ["default", "é/ü/日本.txt"],
    ["default", "emoji 😀 (a surrogate pair)"],
    ["default", "..a/b../.../.hidden"],
    ["default", "k".repeat(1024)],
    ["default", "é".repeat(512)],
    ["default", "a b+c%25?#"],
  ])("takes bucket %j, key %j", (bucket, key) => {
    expect(verdict(bucket, key)).toBeUndefined();
  });

  it.each([
    ["", "a", /bucket is empty/],
    ["ab", "a", /not a valid S3 bucket name/],
    ["a".repeat(64), "a", /not a valid S3 bucket name/],
    ["Default", "a", /not a valid S3 bucket name/],
    ["my_bucket", "a", /not a valid S3 bucket name/],
    ["-abc", "a", /not a valid S3 bucket name/],
    ["abc-", "a", /not a valid S3 bucket name/],
    ["a..b", "a", /not a valid S3 bucket name/],
    ["192.168.1.1", "a", /not a valid S3 bucket name/],
    ["default", "", /key is empty/],
    ["default", "k".repeat(1025), /longer than 1024 bytes/],
    ["default", "é".repeat(513), /longer than 1024 bytes/],
    ["default", "a\u0000b", /control characters/],
    ["default", "a\nb", /control characters/],
    ["default", "a\u007fb", /control characters/],
    ["default", "a\u0085b", /control characters/],
    ["default", "a\u009fb", /control characters/],
    ["default", "a\ud800b", /not well-formed Unicode/],
    ["default", "a/../b", /"\." or "\.\." segment/],
    ["default", "./b", /"\." or "\.\." segment/],
    ["default", "a/.", /"\." or "\.\." segment/],
    ["default", "..", /"\." or "\.\." segment/],
  ])("refuses bucket %j, key %j", (bucket, key, message) => {
    expect(verdict(bucket, key)).toMatch(message);
  });

  it("takes an empty prefix (the whole bucket) but checks a prefix's bucket and characters", () => {
    expect(verdict("default", "", true)).toBeUndefined();
    expect(verdict("default", "logs/", true)).toBeUndefined();
    expect(verdict("ab", "", true)).toMatch(/not a valid S3 bucket name/);
    expect(verdict("default", "a\u0001", true)).toMatch(/object prefix has control characters/);
  });
});
