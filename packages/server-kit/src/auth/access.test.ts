import { describe, expect, it } from "vitest";
import { createAccess, hashToken } from "./access.js";

const entry = (name: string, token: string, permission: "read" | "write" | "purge" | "admin", buckets?: string[]) => ({
  name,
  digest: Buffer.from(hashToken(token), "hex"),
  grants: [{ permission, buckets }],
});

describe("createAccess", () => {
  const access = createAccess({
    tokens: [entry("reader", "r-token", "read", ["reports"]), entry("ops", "o-token", "admin")],
    anonymous: [],
  });

  it("finds a token by its digest and checks its scope", () => {
    expect(access.check("Bearer r-token", { permission: "read", bucket: "reports", key: "k" })).toEqual({
      allowed: true,
      caller: { name: "reader", anonymous: false, grants: [{ permission: "read", buckets: ["reports"] }] },
    });
    expect(access.check("bearer o-token", { permission: "purge", bucket: "x", key: "" })).toMatchObject({
      allowed: true,
      caller: { name: "ops" },
    });
  });

  it("tells an unknown or missing token (unauthenticated) from a token outside its scope (forbidden)", () => {
    const need = { permission: "read", bucket: "other", key: "k" } as const;
    expect(access.check(undefined, need)).toEqual({
      allowed: false,
      refusal: "unauthenticated",
      message: "needs a bearer token allowed to read in other/k",
    });
    expect(access.check("Bearer nope", need)).toMatchObject({ refusal: "unauthenticated" });
    expect(access.check("Basic abc", need)).toMatchObject({ refusal: "unauthenticated" });
    expect(access.check("Bearer r-token", need)).toEqual({
      allowed: false,
      refusal: "forbidden",
      message: 'is not allowed: token "reader" may not read in other/k',
    });
  });

  it("gives a caller without a token what is granted anonymously", () => {
    const open = createAccess({ tokens: [], anonymous: [{ permission: "admin" }] });
    expect(open.enabled).toBe(false);
    expect(open.check(undefined, { permission: "purge" })).toMatchObject({
      allowed: true,
      caller: { name: "anonymous", anonymous: true },
    });
    expect(open.check("Bearer whatever", { permission: "purge" }).allowed).toBe(true);
    const reads = createAccess({ tokens: [entry("w", "w", "write")], anonymous: [{ permission: "read" }] });
    expect(reads.check(undefined, { permission: "read", bucket: "b", key: "k" }).allowed).toBe(true);
    expect(reads.check(undefined, { permission: "write", bucket: "b", key: "k" })).toMatchObject({
      refusal: "unauthenticated",
    });
  });

  it("compares digests, so a token differing only in length or last byte is unknown", () => {
    expect(access.check("Bearer r-toke", { permission: "read", bucket: "reports" }).allowed).toBe(false);
    expect(access.check("Bearer r-tokeN", { permission: "read", bucket: "reports" }).allowed).toBe(false);
  });

  describe("client certificate identities (client_cn)", () => {
    const withCerts = createAccess({
      tokens: [
        { name: "gateway", digest: undefined, clientCn: "gw", grants: [{ permission: "write", buckets: ["b"] }] },
        { ...entry("reader", "r-token", "read", ["reports"]) },
      ],
      anonymous: [],
    });
    const write = { permission: "write", bucket: "b", key: "k" } as const;

    it("admits a verified certificate the file names, within its scope", () => {
      expect(withCerts.check(undefined, write, () => "gw")).toMatchObject({
        allowed: true,
        caller: { name: "gateway" },
      });
      expect(withCerts.check(undefined, { ...write, bucket: "c" }, () => "gw")).toEqual({
        allowed: false,
        refusal: "forbidden",
        message: 'is not allowed: client certificate "gateway" may not write in c/k',
      });
    });

    it("treats a certificate the file does not name as no credential (unauthenticated)", () => {
      expect(withCerts.check(undefined, write, () => "stranger")).toEqual({
        allowed: false,
        refusal: "unauthenticated",
        message:
          'needs a bearer token or a client certificate allowed to write in b/k (client certificate CN "stranger" ' +
          "is not in the token file)",
      });
      expect(withCerts.check(undefined, write, () => undefined)).toMatchObject({ refusal: "unauthenticated" });
    });

    it("lets a bearer token decide alone when one is sent", () => {
      expect(withCerts.check("Bearer r-token", write, () => "gw")).toMatchObject({
        refusal: "forbidden",
        message: 'is not allowed: token "reader" may not write in b/k',
      });
      expect(withCerts.check("Bearer nope", write, () => "gw")).toMatchObject({ refusal: "unauthenticated" });
    });
  });
});
