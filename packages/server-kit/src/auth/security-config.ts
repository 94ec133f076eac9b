import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { ConfigError, env } from "../config.js";
import { createAccess, hashToken, type Access } from "./access.js";
import type { Grant } from "./permissions.js";
import { parseTokenFile, TokenFileError, type TokenEntry } from "./token-file.js";

/** The variables of who may do what, read by every service. */
export const securityConfig = {
  BW_TOKENS_FILE: env.string(
    "",
    "YAML file of callers (bearer tokens as SHA-256, or client certificates by client_cn) with their permissions; " +
      "set: every call needs a token or a named certificate",
  ),
  BW_ADMIN_TOKEN: env.string(
    "",
    "one token with every permission, without a file; alone it guards only PURGE and the admin ops",
  ),
  BW_TOKEN: env.string(
    "",
    "bearer token this process presents to the services it calls " +
      "(empty: BW_ADMIN_TOKEN; none: under mTLS its certificate alone)",
  ),
  BW_INSECURE: env.bool(
    false,
    "bind a non-loopback address with nothing guarding reads and writes (protected mode off)",
  ),
};

type SecurityValues = { readonly [K in keyof typeof securityConfig]: ReturnType<(typeof securityConfig)[K]["parse"]> };

/** The token this process presents: BW_TOKEN, else BW_ADMIN_TOKEN. */
export function outgoingToken(config: SecurityValues): string {
  return config.BW_TOKEN !== "" ? config.BW_TOKEN : config.BW_ADMIN_TOKEN;
}

/**
 * Who may do what, from BW_TOKENS_FILE and BW_ADMIN_TOKEN. Without either,
 * everything is allowed (as before tokens: protected mode keeps such a service
 * on loopback unless mTLS guards it). With BW_ADMIN_TOKEN alone, callers without a token keep read
 * and write (its old meaning: it guarded PURGE and admin ops only). With a
 * token file, a caller without a token may do only what `anonymous` grants.
 * A bad file is a ConfigError naming the entry and field.
 */
export function loadAccess(config: SecurityValues, anonymous: readonly Grant[] = []): Access {
  const tokens: TokenEntry[] = [];
  if (config.BW_TOKENS_FILE !== "") {
    let text: string;
    try {
      text = readFileSync(config.BW_TOKENS_FILE, "utf8");
    } catch (err) {
      throw new ConfigError([`BW_TOKENS_FILE=${config.BW_TOKENS_FILE}: cannot be read (${(err as Error).message})`]);
    }
    try {
      tokens.push(...parseTokenFile(text));
    } catch (err) {
      if (!(err instanceof TokenFileError)) throw err;
      throw new ConfigError(err.problems.map((p) => `BW_TOKENS_FILE=${config.BW_TOKENS_FILE}: ${p}`));
    }
  }
  if (config.BW_ADMIN_TOKEN !== "") {
    const admin = { name: "admin", digest: Buffer.from(hashToken(config.BW_ADMIN_TOKEN), "hex") };
    tokens.push({ ...admin, grants: [{ permission: "admin" }] });
  }
  if (tokens.length === 0) return createAccess({ tokens, anonymous: [{ permission: "admin" }] });
  if (config.BW_TOKENS_FILE === "")
    return createAccess({ tokens, anonymous: [{ permission: "read" }, { permission: "write" }, ...anonymous] });
  return createAccess({ tokens, anonymous });
}

/**
 * Protected mode (Redis's idea): a service whose data nobody guards serves
 * loopback only. What guards it: a token file (every call needs a token or a
 * certificate it names), or mTLS (TLS_CLIENT_AUTH=require: only holders of a
 * certificate from TLS_CA_FILE get in). BW_ADMIN_TOKEN alone guards PURGE and
 * the admin ops but leaves reads and writes anonymous, and TLS without client
 * certificates lets anyone in: neither is enough off loopback. Returns the
 * one-line problem when `host` is elsewhere, unless BW_INSECURE.
 */
export function protectedModeProblem(
  hostVariable: string,
  host: string,
  config: SecurityValues,
  vars: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const mtls = (vars["TLS_CERT_FILE"] ?? "") !== "" && (vars["TLS_CLIENT_AUTH"] ?? "").trim() === "require";
  if (config.BW_TOKENS_FILE !== "" || mtls || config.BW_INSECURE || isLoopback(host)) return undefined;
  const partial =
    config.BW_ADMIN_TOKEN !== ""
      ? " (BW_ADMIN_TOKEN alone leaves reads and writes open to anyone)"
      : (vars["TLS_CERT_FILE"] ?? "") !== ""
        ? " (TLS without client certificates lets anyone in)"
        : "";
  return (
    `${hostVariable}=${host} is not a loopback address and nothing guards reads and writes${partial}: ` +
    `set BW_TOKENS_FILE or TLS_CLIENT_AUTH=require, bind 127.0.0.1, or set BW_INSECURE=1`
  );
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}
