import { parse } from "yaml";
import { PERMISSIONS, type Grant, type Permission } from "./permissions.js";

/**
 * One caller as the file names it: a bearer token by its SHA-256 digest (never
 * the token itself), a client certificate by its subject CN, or both.
 */
export interface TokenEntry {
  readonly name: string;
  /** SHA-256 of the token (32 bytes); undefined for an entry that names a certificate only. */
  readonly digest: Buffer | undefined;
  /** The subject CN of a client certificate verified by the mTLS handshake that stands for this entry. */
  readonly clientCn?: string | undefined;
  readonly grants: readonly Grant[];
}

/** A token file that does not hold; every problem names its entry and field. */
export class TokenFileError extends Error {
  override readonly name = "TokenFileError";
  constructor(readonly problems: readonly string[]) {
    super(problems.join("; "));
  }
}

/**
 * Reads a BW_TOKENS_FILE text:
 *
 * ```yaml
 * tokens:
 *   - name: reports-reader
 *     sha256: 9f86d081884c7d65…   # npm run token:hash -- <token>
 *     permissions: [read]
 *     buckets: [reports]          # optional: only these buckets
 *     prefixes: ["2026/"]         # optional: only keys starting so
 *   - name: ops
 *     sha256: …
 *     permissions: [read, { permission: purge, buckets: [cache] }]
 *   - name: gateway
 *     client_cn: gateway           # a client certificate's subject CN (under mTLS) instead of a token
 *     permissions: [read, write, purge]
 * ```
 *
 * An entry names a token (`sha256`), a client certificate (`client_cn`), or
 * both (one caller, two ways in). An item of `permissions` is a name (limited
 * by the entry's buckets and prefixes) or a mapping with its own limits.
 * Throws TokenFileError listing every problem.
 */
export function parseTokenFile(text: string): TokenEntry[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new TokenFileError([`not YAML: ${(err as Error).message.split("\n")[0]}`]);
  }
  const list = (doc as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(list)) throw new TokenFileError(["needs a top-level `tokens:` list"]);
  const problems: string[] = [];
  const entries: TokenEntry[] = [];
  const names = new Set<string>();
  const digests = new Set<string>();
  const commonNames = new Set<string>();
  list.forEach((raw: unknown, i) => {
    const where = `tokens[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      problems.push(`${where}: must be a mapping with name, sha256 or client_cn, and permissions`);
      return;
    }
    const e = raw as Record<string, unknown>;
    const label = typeof e["name"] === "string" && e["name"] !== "" ? `${where} (${e["name"]})` : where;
    const before = problems.length;
    for (const field of Object.keys(e))
      if (!["name", "sha256", "client_cn", "permissions", "buckets", "prefixes"].includes(field))
        problems.push(`${label}: unknown field ${JSON.stringify(field)}`);
    const name = e["name"];
    if (typeof name !== "string" || name === "") problems.push(`${label}: name must be a non-empty string`);
    else if (names.has(name)) problems.push(`${label}: name ${JSON.stringify(name)} is used twice`);
    const sha = e["sha256"];
    const cn = e["client_cn"];
    if (sha === undefined && cn === undefined)
      problems.push(`${label}: needs sha256 (a token's SHA-256) or client_cn (a client certificate's subject CN)`);
    if (sha !== undefined && (typeof sha !== "string" || !/^[0-9a-fA-F]{64}$/.test(sha)))
      problems.push(`${label}: sha256 must be 64 hex digits (the SHA-256 of the token, not the token)`);
    else if (typeof sha === "string" && digests.has(sha.toLowerCase()))
      problems.push(`${label}: sha256 is used by an earlier entry`);
    if (cn !== undefined && (typeof cn !== "string" || cn === ""))
      problems.push(`${label}: client_cn must be a non-empty string (a client certificate's subject CN)`);
    else if (typeof cn === "string" && commonNames.has(cn))
      problems.push(`${label}: client_cn ${JSON.stringify(cn)} is used by an earlier entry`);
    const buckets = stringList(e["buckets"], `${label}: buckets`, problems);
    const prefixes = stringList(e["prefixes"], `${label}: prefixes`, problems);
    const grants = grantsOf(e["permissions"], { buckets, prefixes }, label, problems);
    if (problems.length > before) return;
    names.add(name as string);
    if (typeof sha === "string") digests.add(sha.toLowerCase());
    if (typeof cn === "string") commonNames.add(cn);
    entries.push({
      name: name as string,
      digest: typeof sha === "string" ? Buffer.from(sha, "hex") : undefined,
      clientCn: typeof cn === "string" ? cn : undefined,
      grants,
    });
  });
  if (problems.length > 0) throw new TokenFileError(problems);
  return entries;
}

function grantsOf(
  raw: unknown,
  limits: { buckets: string[] | undefined; prefixes: string[] | undefined },
  label: string,
  problems: string[],
): Grant[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(`${label}: permissions must be a non-empty list of ${PERMISSIONS.join(", ")}`);
    return [];
  }
  return raw.flatMap((item: unknown, j): Grant[] => {
    const where = `${label}: permissions[${j}]`;
    if (typeof item === "string") {
      if (!isPermission(item)) {
        problems.push(`${where}: ${JSON.stringify(item)} is not one of ${PERMISSIONS.join(", ")}`);
        return [];
      }
      return [{ permission: item, buckets: limits.buckets, prefixes: limits.prefixes }];
    }
    if (typeof item !== "object" || item === null) {
      problems.push(`${where}: must be a permission name or { permission, buckets, prefixes }`);
      return [];
    }
    const g = item as Record<string, unknown>;
    const permission = g["permission"];
    if (typeof permission !== "string" || !isPermission(permission)) {
      problems.push(`${where}: permission must be one of ${PERMISSIONS.join(", ")}`);
      return [];
    }
    return [
      {
        permission,
        buckets: stringList(g["buckets"], `${where}: buckets`, problems) ?? limits.buckets,
        prefixes: stringList(g["prefixes"], `${where}: prefixes`, problems) ?? limits.prefixes,
      },
    ];
  });
}

function stringList(raw: unknown, where: string, problems: string[]): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((s) => typeof s === "string")) {
    problems.push(`${where} must be a non-empty list of strings`);
    return undefined;
  }
  return raw as string[];
}

function isPermission(s: string): s is Permission {
  return (PERMISSIONS as readonly string[]).includes(s);
}
