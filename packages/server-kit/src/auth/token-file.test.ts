import { describe, expect, it } from "vitest";
import { hashToken } from "./access.js";
import { parseTokenFile, TokenFileError } from "./token-file.js";

const sha = hashToken("reader-secret");

describe("parseTokenFile", () => {
  it("reads names, digests and permissions with entry-wide and per-permission limits", () => {
    const [reader, ops] = parseTokenFile(`
tokens:
  - name: reader
    sha256: ${sha}
    permissions: [read, write]
    buckets: [reports]
    prefixes: ["2026/"]
  - name: ops
    sha256: ${hashToken("ops")}
    permissions: [read, { permission: purge, buckets: [cache] }]
`);
    expect(reader!.name).toBe("reader");
    expect(reader!.digest!.toString("hex")).toBe(sha);
    expect(reader!.grants).toEqual([
      { permission: "read", buckets: ["reports"], prefixes: ["2026/"] },
      { permission: "write", buckets: ["reports"], prefixes: ["2026/"] },
    ]);
    expect(ops!.grants).toEqual([
      { permission: "read", buckets: undefined, prefixes: undefined },
      { permission: "purge", buckets: ["cache"], prefixes: undefined },
    ]);
  });

  it("names the entry and field of every problem", () => {
    let error: unknown;
    try {
      parseTokenFile(`
tokens:
  - name: a
    sha256: not-hex
    permissions: [read]
  - name: b
    sha256: ${sha}
    permissions: [read, fly]
  - sha256: ${hashToken("c")}
    permissions: []
  - name: a
    sha256: ${hashToken("d")}
    permissions: [admin]
    bucket: [x]
`);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TokenFileError);
    expect((error as TokenFileError).problems).toEqual([
      "tokens[0] (a): sha256 must be 64 hex digits (the SHA-256 of the token, not the token)",
      'tokens[1] (b): permissions[1]: "fly" is not one of read, write, purge, admin',
      "tokens[2]: name must be a non-empty string",
      "tokens[2]: permissions must be a non-empty list of read, write, purge, admin",
      'tokens[3] (a): unknown field "bucket"',
    ]);
  });

  it("refuses a name or digest used twice, and a file without a tokens list", () => {
    expect(() =>
      parseTokenFile(`tokens:
  - { name: a, sha256: ${sha}, permissions: [read] }
  - { name: a, sha256: ${sha.toUpperCase()}, permissions: [read] }`),
    ).toThrow(/tokens\[1\] \(a\): name "a" is used twice; tokens\[1\] \(a\): sha256 is used by an earlier entry/);
    expect(() => parseTokenFile("users: []")).toThrow("needs a top-level `tokens:` list");
    expect(() => parseTokenFile("tokens: [")).toThrow(/^not YAML/);
  });

  it("reads client_cn entries: a certificate instead of a token, or beside one", () => {
    const [gateway, ops] = parseTokenFile(`
tokens:
  - { name: gateway, client_cn: gw.internal, permissions: [read, write, purge] }
  - { name: ops, sha256: ${sha}, client_cn: ops, permissions: [admin] }
`);
    expect([gateway!.digest, gateway!.clientCn]).toEqual([undefined, "gw.internal"]);
    expect([ops!.digest!.toString("hex"), ops!.clientCn]).toEqual([sha, "ops"]);
    expect(() => parseTokenFile("tokens:\n  - { name: x, permissions: [read] }")).toThrow(
      "tokens[0] (x): needs sha256 (a token's SHA-256) or client_cn (a client certificate's subject CN)",
    );
    expect(() =>
      parseTokenFile(`tokens:
  - { name: a, client_cn: gw, permissions: [read] }
  - { name: b, client_cn: gw, permissions: [read] }
  - { name: c, client_cn: "", permissions: [read] }`),
    ).toThrow(
      'tokens[1] (b): client_cn "gw" is used by an earlier entry; ' +
        "tokens[2] (c): client_cn must be a non-empty string (a client certificate's subject CN)",
    );
  });
});
