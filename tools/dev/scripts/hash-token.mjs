// Prints the SHA-256 (hex) of a bearer token, for the `sha256:` of a BW_TOKENS_FILE entry.
// Usage: npm run -s token:hash -- <token>   or   printf %s "$TOKEN" | npm run -s token:hash
import { createHash } from "node:crypto";

let token = process.argv[2];
if (token === undefined) {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  token = Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}
if (token === "") {
  process.stderr.write("usage: npm run -s token:hash -- <token>  (or the token on stdin)\n");
  process.exit(2);
}
process.stdout.write(`${createHash("sha256").update(token, "utf8").digest("hex")}\n`);
