#!/usr/bin/env node
// `npm test`: every check CI runs, in order, stopping at the first failure:
// generated code up to date (+ buf lint), build, lint, type-check of every
// file including tests, then every vitest test
// (units and integration). The very last line is the tally from vitest's JSON
// report, exactly `N passed, N failed` (`, N skipped` when some were).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
// nx: no daemon, no cloud, plain output. CI passes through as it is.
const env = { ...process.env, NX_DAEMON: "false", NX_NO_CLOUD: "true", NX_TUI: "false" };
const tmp = mkdtempSync(path.join(tmpdir(), "bw-test-"));
const report = path.join(tmp, "vitest.json");

const steps = [
  { name: "generate:check", command: "npm", args: ["run", "generate:check"] },
  { name: "build", command: "npx", args: ["nx", "run-many", "-t", "build"] },
  { name: "lint", command: "npm", args: ["run", "lint"] },
  // Build checks only what ships; this checks the tests and fixtures too.
  { name: "typecheck", command: "npm", args: ["run", "typecheck"] },
  {
    name: "vitest",
    command: "npx",
    args: ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile=${report}`],
  },
];

/** Runs one step with inherited output; returns its exit status (1 when it could not run). */
function run(step) {
  console.log(`\n=== npm test: ${step.name} (${[step.command, ...step.args].join(" ")})\n`);
  const r = spawnSync(step.command, step.args, { cwd: root, env, stdio: "inherit" });
  if (r.error) {
    console.error(`npm test: could not run ${step.command}: ${r.error.message}`);
    return 1;
  }
  if (r.signal) return 128 + 1;
  return r.status ?? 1;
}

/** passed / failed / skipped from vitest's JSON report (jest's format). */
function tally(file) {
  const r = JSON.parse(readFileSync(file, "utf8"));
  // A test file that fails to load (syntax error, failing beforeAll) has no
  // failed test in it yet fails the run: count it as one failure so the tally
  // never reads "0 failed" next to a red run.
  const brokenFiles = (r.testResults ?? []).filter(
    (f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed"),
  ).length;
  return {
    passed: r.numPassedTests ?? 0,
    failed: (r.numFailedTests ?? 0) + brokenFiles,
    skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0),
    brokenFiles,
  };
}

let exitCode = 0;
try {
  for (const step of steps) {
    const status = run(step);
    if (step.name !== "vitest") {
      if (status !== 0) {
        console.error(`\nnpm test: step "${step.name}" failed (exit ${status}); later steps were not run`);
        exitCode = status;
        break;
      }
      continue;
    }
    if (!existsSync(report)) {
      console.error(`\nnpm test: step "vitest" failed (exit ${status}) and wrote no JSON report`);
      exitCode = status || 1;
      break;
    }
    const t = tally(report);
    if (t.brokenFiles > 0)
      console.error(`npm test: ${t.brokenFiles} test file(s) failed outside any test (counted as failed below)`);
    if (status !== 0 && t.failed === 0)
      console.error(`npm test: step "vitest" failed (exit ${status}) though no test failed (unhandled error?)`);
    else if (status !== 0) console.error(`npm test: step "vitest" failed (exit ${status})`);
    exitCode = status !== 0 || t.failed > 0 ? status || 1 : 0;
    console.log(`${t.passed} passed, ${t.failed} failed${t.skipped > 0 ? `, ${t.skipped} skipped` : ""}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
