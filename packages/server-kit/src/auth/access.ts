import { createHash, timingSafeEqual } from "node:crypto";
import { allows, type Grant, type Requirement } from "./permissions.js";
import type { TokenEntry } from "./token-file.js";

/**
 * Who is calling: a named token, a client certificate the file names, or the
 * anonymous caller (no Authorization, no known certificate).
 */
export interface Caller {
  /** The entry's name from the file ("admin" for BW_ADMIN_TOKEN), or "anonymous". */
  readonly name: string;
  readonly anonymous: boolean;
  readonly grants: readonly Grant[];
}

/**
 * The outcome of a check: allowed, or why not (401 / UNAUTHENTICATED vs 403 /
 * PERMISSION_DENIED), the message a predicate to put after the call's name
 * ("ForceBreaker needs a bearer token allowed to admin").
 */
export type Verdict =
  | { readonly allowed: true; readonly caller: Caller }
  | { readonly allowed: false; readonly refusal: "unauthenticated" | "forbidden"; readonly message: string };

/** Who may do what: the known tokens, and what a caller without one may do. */
export interface Access {
  /** False when nothing is configured: every call is allowed anonymously (as before tokens). */
  readonly enabled: boolean;
  /**
   * Checks an `Authorization` header (or gRPC `authorization` metadata) against a requirement.
   * Without one, `peerName` is asked for the subject CN of the client certificate the mTLS
   * handshake verified (undefined when there is none); a file entry with that `client_cn`
   * is the caller. A bearer token, when sent, decides alone: the certificate is not consulted.
   */
  check(authorization: string | undefined, need: Requirement, peerName?: () => string | undefined): Verdict;
}

/** Options of {@link createAccess}. */
export interface AccessOptions {
  readonly tokens: readonly TokenEntry[];
  /** What a caller that presents no token may do (empty: every call needs a token). */
  readonly anonymous: readonly Grant[];
}

/** The hex SHA-256 of a token: what a token file stores (`npm run token:hash`). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * Token checks in constant time: the presented token is hashed and its digest
 * compared with every entry's (timingSafeEqual, no early exit), so neither
 * the token's bytes nor which entry matched shows in the timing.
 */
export function createAccess(options: AccessOptions): Access {
  const tokens = options.tokens;
  const anonymous: Caller = { name: "anonymous", anonymous: true, grants: options.anonymous };
  const enabled = tokens.length > 0;
  // A certificate's CN is no secret (it is sent in the clear in TLS 1.2 and logged): a map will do.
  const byCommonName = new Map<string, TokenEntry>();
  for (const entry of tokens) if (entry.clientCn !== undefined) byCommonName.set(entry.clientCn, entry);

  function lookup(token: string): TokenEntry | undefined {
    const digest = createHash("sha256").update(token, "utf8").digest();
    let found: TokenEntry | undefined;
    for (const entry of tokens)
      if (entry.digest !== undefined && timingSafeEqual(digest, entry.digest) && found === undefined) found = entry;
    return found;
  }

  return {
    enabled,
    check(authorization, need, peerName) {
      let caller: Caller;
      let unknownPeer: string | undefined;
      // With no tokens configured a presented one means nothing (a caller's BW_TOKEN to an open service).
      if (!enabled) caller = anonymous;
      else if (authorization === undefined || authorization === "") {
        const cn = byCommonName.size > 0 ? peerName?.() : undefined;
        const entry = cn === undefined ? undefined : byCommonName.get(cn);
        caller = entry === undefined ? anonymous : { name: entry.name, anonymous: false, grants: entry.grants };
        if (entry === undefined) unknownPeer = cn;
      } else {
        const m = /^Bearer +(\S+) *$/i.exec(authorization);
        const entry = m === null ? undefined : lookup(m[1]!);
        if (entry === undefined) {
          return {
            allowed: false,
            refusal: "unauthenticated",
            message: m === null ? "needs authorization: Bearer <token>" : "was sent a bearer token that is not known",
          };
        }
        caller = { name: entry.name, anonymous: false, grants: entry.grants };
      }
      if (allows(caller.grants, need)) return { allowed: true, caller };
      const what = describe(need);
      // No credential the file knows: present one (401). A known token or certificate outside its scope: 403.
      if (caller.anonymous) {
        const credential = byCommonName.size > 0 ? "a bearer token or a client certificate" : "a bearer token";
        const peer =
          unknownPeer === undefined
            ? ""
            : ` (client certificate CN ${JSON.stringify(unknownPeer)} is not in the token file)`;
        return { allowed: false, refusal: "unauthenticated", message: `needs ${credential} allowed to ${what}${peer}` };
      }
      const kind = authorization === undefined || authorization === "" ? "client certificate" : "token";
      return {
        allowed: false,
        refusal: "forbidden",
        message: `is not allowed: ${kind} ${JSON.stringify(caller.name)} may not ${what}`,
      };
    },
  };
}

function describe(need: Requirement): string {
  const where = need.bucket === undefined ? "" : ` in ${need.bucket}${need.key === undefined ? "" : `/${need.key}`}`;
  return `${need.permission}${where}`;
}
