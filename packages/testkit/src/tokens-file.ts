import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * An entry of a test's BW_TOKENS_FILE: a token given in the clear (the file
 * stores its SHA-256), a client certificate's subject CN, or both.
 */
export interface TestToken {
  readonly name: string;
  readonly token?: string;
  readonly clientCn?: string;
  readonly permissions: readonly (string | { permission: string; buckets?: string[]; prefixes?: string[] })[];
  readonly buckets?: readonly string[];
  readonly prefixes?: readonly string[];
}

/** Writes a BW_TOKENS_FILE (JSON, which is YAML) in a fresh temporary directory; answers its path. */
export function writeTokensFile(tokens: readonly TestToken[]): string {
  const path = join(mkdtempSync(join(tmpdir(), "bw-tokens-")), "tokens.yaml");
  const entries = tokens.map(({ token, clientCn, ...entry }) => ({
    ...entry,
    ...(token === undefined ? {} : { sha256: createHash("sha256").update(token, "utf8").digest("hex") }),
    ...(clientCn === undefined ? {} : { client_cn: clientCn }),
  }));
  writeFileSync(path, JSON.stringify({ tokens: entries }, null, 2));
  return path;
}

/** `{ authorization: "Bearer <token>" }`. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
