/**
 * `npm run bench [-- <suite>…]`: runs the named suites (default: all) and
 * prints one table per suite on stdout, progress on stderr. Ratios compare
 * sides measured in the same run, since this machine is noisy. Exit code: 0
 * when every suite ran and every target was met; 3 when a target was missed
 * (the last line lists the MISSED verdicts); 1 when a suite could not run
 * (that wins over 3); 2 when the command line or BENCH_* settings are wrong.
 */
import { formatReport } from "./report.js";
import { loadSettings } from "./settings.js";
import { suites } from "./suites/index.js";
import { missedSummary, missedTargets, tee } from "./verdicts.js";

function usage(): string {
  return [
    "usage: npm run bench -- [suite…]",
    "suites:",
    ...suites.map((s) => `  ${s.name.padEnd(12)} ${s.title}`),
    "environment: BENCH_SECONDS (measured s per side and scenario, 4), BENCH_WARMUP_SECONDS (1), " +
      "BENCH_ROUNDS (8), BENCH_IN_FLIGHT (64),",
    "  BENCH_PROFILE_DIR (servers write --cpu-prof profiles there)",
  ].join("\n");
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.some((a) => a === "-h" || a === "--help")) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const unknown = argv.filter((a) => !suites.some((s) => s.name === a));
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite: ${unknown.join(", ")}\n${usage()}\n`);
    return 2;
  }
  let settings;
  try {
    settings = loadSettings(process.env, (line) => process.stderr.write(`${line}\n`));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const selected = argv.length === 0 ? suites : suites.filter((s) => argv.includes(s.name));
  let failed = 0;
  const missed: string[] = [];
  for (const suite of selected) {
    settings.log(
      `${suite.name}: ${settings.seconds} s per side and scenario in ${settings.rounds} rounds, ` +
        `${settings.warmupSeconds} s warm-up, ${settings.inFlight} calls in flight`,
    );
    try {
      // The verdicts are read back from what the suite printed (its own tables) and what is printed for it here.
      const { text } = await tee(process.stdout, async () => {
        const comparisons = await suite.run(settings);
        // A suite that prints its own tables (fleet-convergence) has no throughput to compare.
        if (comparisons.length === 0) return;
        const heading =
          `${suite.title}\n(${settings.seconds} s measured per server, ${settings.rounds} alternating rounds, ` +
          `${settings.inFlight} calls in flight; node ${process.version})`;
        process.stdout.write(`\n${formatReport(heading, comparisons)}\n`);
      });
      missed.push(...missedTargets(text).map((v) => `${suite.name}: ${v}`));
    } catch (err) {
      failed++;
      process.stderr.write(
        `${suite.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    }
  }
  if (missed.length > 0) process.stdout.write(`\n${missedSummary(missed)}\n`);
  return failed > 0 ? 1 : missed.length > 0 ? 3 : 0;
}

// Ctrl-C: exit through process.exit so the child servers are killed (child-server.ts).
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));
process.exitCode = await main(process.argv.slice(2));
