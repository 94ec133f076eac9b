import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config.js";
import { hashToken } from "./access.js";
import { isLoopback, loadAccess, outgoingToken, protectedModeProblem, securityConfig } from "./security-config.js";

const load = (vars: Record<string, string>) => loadConfig(securityConfig, vars);

describe("loadAccess", () => {
  it("is open with nothing configured", () => {
    const access = loadAccess(load({}));
    expect(access.enabled).toBe(false);
    expect(access.check(undefined, { permission: "admin" }).allowed).toBe(true);
  });

  it("keeps BW_ADMIN_TOKEN's old meaning alone: reads and writes open, purge and admin need it", () => {
    const access = loadAccess(load({ BW_ADMIN_TOKEN: "s3cret" }));
    expect(access.check(undefined, { permission: "write", bucket: "b", key: "k" }).allowed).toBe(true);
    expect(access.check(undefined, { permission: "purge", bucket: "b", key: "k" })).toMatchObject({
      refusal: "unauthenticated",
    });
    expect(access.check("Bearer s3cret", { permission: "admin" })).toMatchObject({ caller: { name: "admin" } });
  });

  it("needs a token for everything with a file, but what is granted anonymously", () => {
    const dir = mkdtempSync(join(tmpdir(), "bw-tokens-"));
    const file = join(dir, "tokens.yaml");
    writeFileSync(file, `tokens:\n  - { name: w, sha256: ${hashToken("w")}, permissions: [write] }\n`);
    const access = loadAccess(load({ BW_TOKENS_FILE: file }), [{ permission: "read" }]);
    expect(access.check(undefined, { permission: "read", bucket: "b", key: "k" }).allowed).toBe(true);
    expect(access.check(undefined, { permission: "write", bucket: "b", key: "k" }).allowed).toBe(false);
    expect(access.check("Bearer w", { permission: "write", bucket: "b", key: "k" }).allowed).toBe(true);
  });

  it("turns a bad or missing file into a ConfigError naming the file, entry and field", () => {
    const dir = mkdtempSync(join(tmpdir(), "bw-tokens-"));
    const file = join(dir, "tokens.yaml");
    writeFileSync(file, "tokens:\n  - { name: w, sha256: abc, permissions: [write] }\n");
    expect(() => loadAccess(load({ BW_TOKENS_FILE: file }))).toThrow(ConfigError);
    expect(() => loadAccess(load({ BW_TOKENS_FILE: file }))).toThrow(
      `BW_TOKENS_FILE=${file}: tokens[0] (w): sha256 must be 64 hex digits`,
    );
    expect(() => loadAccess(load({ BW_TOKENS_FILE: join(dir, "absent.yaml") }))).toThrow(/cannot be read/);
  });
});

describe("protected mode", () => {
  it("refuses a non-loopback address when nothing guards reads and writes, naming what to set", () => {
    expect(protectedModeProblem("GATEWAY_HOST", "0.0.0.0", load({}), {})).toBe(
      "GATEWAY_HOST=0.0.0.0 is not a loopback address and nothing guards reads and writes: " +
        "set BW_TOKENS_FILE or TLS_CLIENT_AUTH=require, bind 127.0.0.1, or set BW_INSECURE=1",
    );
    expect(protectedModeProblem("H", "127.0.0.1", load({}), {})).toBeUndefined();
    expect(protectedModeProblem("H", "0.0.0.0", load({ BW_TOKENS_FILE: "/t.yaml" }), {})).toBeUndefined();
    expect(protectedModeProblem("H", "0.0.0.0", load({ BW_INSECURE: "1" }), {})).toBeUndefined();
    const mtls = { TLS_CERT_FILE: "/c.pem", TLS_CLIENT_AUTH: "require" };
    expect(protectedModeProblem("H", "0.0.0.0", load({}), mtls)).toBeUndefined();
  });

  it("does not count BW_ADMIN_TOKEN alone or TLS without client certificates: either leaves writes open", () => {
    expect(protectedModeProblem("H", "0.0.0.0", load({ BW_ADMIN_TOKEN: "t" }), {})).toBe(
      "H=0.0.0.0 is not a loopback address and nothing guards reads and writes " +
        "(BW_ADMIN_TOKEN alone leaves reads and writes open to anyone): " +
        "set BW_TOKENS_FILE or TLS_CLIENT_AUTH=require, bind 127.0.0.1, or set BW_INSECURE=1",
    );
    expect(protectedModeProblem("H", "0.0.0.0", load({}), { TLS_CERT_FILE: "/c.pem" })).toContain(
      "(TLS without client certificates lets anyone in)",
    );
    expect(
      protectedModeProblem("H", "::", load({ BW_ADMIN_TOKEN: "t" }), { TLS_CLIENT_AUTH: "require" }),
    ).toBeDefined();
  });

  it("knows loopback addresses", () => {
    expect(["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"].every(isLoopback)).toBe(true);
    expect(["0.0.0.0", "::", "10.0.0.1", "example.com"].some(isLoopback)).toBe(false);
  });

  it("presents BW_TOKEN, else BW_ADMIN_TOKEN", () => {
    expect(outgoingToken(load({ BW_ADMIN_TOKEN: "a" }))).toBe("a");
    expect(outgoingToken(load({ BW_ADMIN_TOKEN: "a", BW_TOKEN: "b" }))).toBe("b");
  });
});
