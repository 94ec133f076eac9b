import type { ConvergenceSample } from "./convergence-sample.js";
import { percentile } from "./fan-out-report.js";
import { table } from "./text-table.js";

/** One load shape's runs, judged against a latency target. */
export interface ConvergenceScenario {
  /** E.g. "3 replicas × 100 reads/s". */
  readonly name: string;
  readonly samples: readonly ConvergenceSample[];
  /** Highest acceptable p99 of "first 503 → every replica refusing", ms. */
  readonly targetP99Ms: number;
  /**
   * The least time a steady load allows from a replica's first failing
   * answer to the one that trips its breaker (consecutive_failures − 1 read
   * intervals at the busiest replica's rate), ms; printed as a note.
   */
  readonly floorMs?: number;
}

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : "–");
const floorNote = (s: ConvergenceScenario): string[] =>
  s.floorMs === undefined
    ? []
    : [
        `note    ${s.name}: at this pace a replica's own breaker trips about ${ms(s.floorMs)} ms ` +
          `after its first failing answer at the earliest ` +
          `(consecutive_failures − 1 read intervals; less only when reads bunch up): ` +
          `that much of every figure is the load's pace, not the breakers'`,
      ];

const measures: readonly {
  readonly label: string;
  readonly of: (s: ConvergenceSample) => number;
  readonly judged: boolean;
}[] = [
  { label: "first 503 → every replica refusing (logs)", of: (s) => s.allOpenMs, judged: true },
  { label: "first 503 → first replica refusing (logs)", of: (s) => s.firstOpenMs, judged: false },
  { label: "first 503 → coordinator OPEN", of: (s) => s.fleetOpenMs, judged: false },
  { label: "first 503 → last S3 request (proxy)", of: (s) => s.lastRequestMs, judged: false },
  { label: "tripping 503 sent → its replica refusing", of: (s) => s.reactionMs, judged: false },
  // Negative when every replica had opened on its own before the coordinator did.
  { label: "coordinator OPEN → every replica refusing", of: (s) => s.allOpenMs - s.fleetOpenMs, judged: false },
];

/** Whether a scenario's p99 of "first 503 → every replica refusing" is under its target; undefined without runs. */
export function meetsConvergenceTarget(s: ConvergenceScenario): boolean | undefined {
  if (s.samples.length === 0) return undefined;
  return (
    percentile(
      s.samples.map((x) => x.allOpenMs),
      0.99,
    ) < s.targetP99Ms
  );
}

/**
 * The runs as one summary table (per scenario and measure: runs, p50, p90,
 * p99, max in ms; the verdict on "every replica refusing"), the verdict
 * lines, then one table per scenario with every run: when each replica's
 * breaker opened, by which rule (L its own breaker, F the coordinator's
 * transition) and after how many 503 answers (with "+n ok" for answers
 * that were no failure and came after the first 503), and the storage requests
 * from the first failing one on —
 * all, per replica, after the replica's own opening, after the
 * coordinator's OPEN.
 */
export function formatConvergenceReport(title: string, scenarios: readonly ConvergenceScenario[]): string {
  const rows: string[][] = [];
  const verdicts: string[] = [];
  for (const s of scenarios) {
    measures.forEach((m, i) => {
      const values = s.samples.map(m.of).filter(Number.isFinite);
      const met = m.judged ? meetsConvergenceTarget(s) : undefined;
      rows.push([
        i === 0 ? s.name : "",
        m.label,
        String(values.length),
        ms(percentile(values, 0.5)),
        ms(percentile(values, 0.9)),
        ms(percentile(values, 0.99)),
        ms(values.length === 0 ? Number.NaN : Math.max(...values)),
        met === undefined ? "" : met ? `p99 < ${s.targetP99Ms} ms met` : `p99 ≥ ${s.targetP99Ms} ms MISSED`,
      ]);
      if (met !== undefined) {
        verdicts.push(
          `${met ? "met   " : "MISSED"}  ${s.name}: every replica refusing p50 ${ms(percentile(values, 0.5))} ms, ` +
            `p99 ${ms(percentile(values, 0.99))} ms, ` +
            `max ${ms(Math.max(...values))} ms (target p99 < ${s.targetP99Ms} ms)`,
        );
      }
    });
  }
  const out = [
    title,
    "",
    ...table(
      ["scenario", "measure", "runs", "p50 ms", "p90 ms", "p99 ms", "max ms", "target"],
      rows,
      (c) => c >= 2 && c <= 6,
    ),
    "",
    ...verdicts,
    ...scenarios.flatMap(floorNote),
  ];
  for (const s of scenarios) {
    const runRows = s.samples.map((x, i) => [
      String(i + 1),
      ms(x.allOpenMs),
      ms(x.firstOpenMs),
      ms(x.fleetOpenMs),
      ms(x.lastRequestMs),
      x.replicas
        .map(
          (r) =>
            `${ms(r.openMs)} ${r.source === "local" ? "L" : "F"} ` +
            `(${r.failuresBeforeOpen}${r.lateSuccesses > 0 ? ` +${r.lateSuccesses} ok` : ""})`,
        )
        .join(" / "),
      `${x.failedRequests} (${x.replicas.map((r) => r.failedRequests).join("/")})`,
      x.replicas.map((r) => r.afterOwnOpen).join("/"),
      x.replicas.map((r) => ms(r.afterFleetOpen)).join("/"),
    ]);
    const header = [
      "run",
      "all open",
      "first open",
      "coord OPEN",
      "last S3 req",
      "each replica open: ms, L/F (503s sent to it by then, +late oks)",
      "S3 reqs from 1st 503",
      "after own open",
      "after coord OPEN",
    ];
    out.push("", `${s.name}: every run, ms from the first 503`, "", ...table(header, runRows, (c) => c <= 4));
  }
  return out.join("\n");
}
