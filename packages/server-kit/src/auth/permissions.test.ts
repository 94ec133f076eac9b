import { describe, expect, it } from "vitest";
import { allows, type Grant } from "./permissions.js";

describe("allows", () => {
  const scoped: Grant[] = [{ permission: "read", buckets: ["reports"], prefixes: ["2026/", "shared/"] }];

  it("matches the permission, the bucket and a key prefix", () => {
    expect(allows(scoped, { permission: "read", bucket: "reports", key: "2026/jan.csv" })).toBe(true);
    expect(allows(scoped, { permission: "read", bucket: "reports", key: "shared/x" })).toBe(true);
    expect(allows(scoped, { permission: "read", bucket: "reports", key: "2025/dec.csv" })).toBe(false);
    expect(allows(scoped, { permission: "read", bucket: "other", key: "2026/jan.csv" })).toBe(false);
    expect(allows(scoped, { permission: "write", bucket: "reports", key: "2026/jan.csv" })).toBe(false);
  });

  it("needs an unlimited grant for a call over every bucket or every key", () => {
    expect(allows(scoped, { permission: "read" })).toBe(false);
    expect(allows(scoped, { permission: "read", bucket: "reports" })).toBe(false);
    expect(allows([{ permission: "read", buckets: ["reports"] }], { permission: "read", bucket: "reports" })).toBe(
      true,
    );
    expect(allows([{ permission: "read" }], { permission: "read" })).toBe(true);
  });

  it("bounds a purge by prefix by the granted prefix", () => {
    const purge: Grant[] = [{ permission: "purge", prefixes: ["tmp/"] }];
    expect(allows(purge, { permission: "purge", bucket: "b", key: "tmp/2026/" })).toBe(true);
    expect(allows(purge, { permission: "purge", bucket: "b", key: "tm" })).toBe(false);
    expect(allows(purge, { permission: "purge", bucket: "b", key: "" })).toBe(false);
  });

  it("lets admin do everything within its own scope", () => {
    expect(allows([{ permission: "admin" }], { permission: "purge", bucket: "b", key: "k" })).toBe(true);
    expect(allows([{ permission: "admin", buckets: ["a"] }], { permission: "write", bucket: "b", key: "k" })).toBe(
      false,
    );
  });
});
