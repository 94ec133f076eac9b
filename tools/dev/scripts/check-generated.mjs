#!/usr/bin/env node
// `npm run generate:check`: fails when the committed generated code differs
// from what `buf generate` makes from proto/ now (someone edited a .proto and
// forgot `npm run generate`, or edited generated code by hand), and runs
// `buf lint` on proto/.
//
// `buf generate -o <dir>` prepends <dir> to every plugin's `out` in the v2
// template, so regenerating into a temporary directory leaves the tree alone
// (`clean: true` then only cleans inside it).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const template = "proto/buf.gen.yaml";

/** Runs a command at the root with inherited output; returns its exit status. */
function run(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (r.error) {
    console.error(`generate:check: could not run ${command}: ${r.error.message}`);
    return 1;
  }
  return r.status ?? 1;
}

/** Every file under `dir`, as paths relative to it, sorted. */
function listFiles(dir, prefix = "") {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? listFiles(path.join(dir, e.name), path.join(prefix, e.name)) : [path.join(prefix, e.name)],
    )
    .sort();
}

/** The `out:` directories of the template's plugins. */
function outDirs() {
  const text = readFileSync(path.join(root, template), "utf8");
  const outs = [...text.matchAll(/^\s*out:\s*["']?([^"'\s#]+)/gm)].map((m) => m[1]);
  if (outs.length === 0) throw new Error(`${template} names no plugin out directory`);
  return [...new Set(outs)];
}

const tmp = mkdtempSync(path.join(tmpdir(), "bw-generate-check-"));
let failed = false;
try {
  if (run("npx", ["buf", "generate", "--template", template, "-o", tmp]) !== 0) {
    console.error("generate:check: buf generate failed");
    process.exit(1);
  }
  for (const out of outDirs()) {
    const fresh = path.join(tmp, out);
    const committed = path.join(root, out);
    const freshFiles = listFiles(fresh);
    const committedFiles = listFiles(committed);
    const problems = [];
    for (const f of freshFiles) {
      if (!committedFiles.includes(f)) problems.push(`missing (buf would generate it): ${path.join(out, f)}`);
      else if (!readFileSync(path.join(fresh, f)).equals(readFileSync(path.join(committed, f))))
        problems.push(`differs: ${path.join(out, f)}`);
    }
    for (const f of committedFiles) {
      if (!freshFiles.includes(f)) problems.push(`extra (buf does not generate it): ${path.join(out, f)}`);
    }
    if (problems.length > 0) {
      failed = true;
      console.error(`generate:check: ${out} is not what \`npm run generate\` makes from proto/:`);
      for (const p of problems) console.error(`  ${p}`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (failed) {
  console.error("generate:check: run `npm run generate` and commit the result");
  process.exit(1);
}
if (run("npx", ["buf", "lint", "proto"]) !== 0) {
  console.error("generate:check: buf lint proto failed");
  process.exit(1);
}
console.log("generate:check: generated code is up to date; buf lint passed");
