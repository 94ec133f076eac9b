import { percentile } from "./fan-out-report.js";
import { table } from "./text-table.js";

/** A statistic of a measure's values a target can be set on. */
export type LatencyStat = "p50" | "p99" | "max";

/**
 * A latency target: `stat` of the measure's values `op` `limit` (in the
 * measure's unit), e.g. max < 100 ms. A target relative to a baseline measured
 * in the same run (fleet-breakers' "p50 no worse than attached") is computed
 * by the suite into `limit`, and `basis` says how (printed with the verdict).
 */
export interface LatencyTarget {
  readonly stat: LatencyStat;
  readonly op: "<" | "≤";
  readonly limit: number;
  /** Where the limit comes from, e.g. "2 × attached p50"; omitted for fixed limits. */
  readonly basis?: string;
}

/** One measure of a scenario: its samples, their unit, and the targets on them. */
export interface LatencyMeasure {
  /** E.g. "write → B serves the new body". */
  readonly name: string;
  readonly unit: "ms" | "ns";
  readonly values: readonly number[];
  readonly targets?: readonly LatencyTarget[];
  /** Name of a measure of the same scenario whose p50 and p99 this one's are divided by (shown as ×base). */
  readonly baseline?: string;
}

/** One scenario: measures taken in the same run. */
export interface LatencyScenario {
  readonly name: string;
  readonly measures: readonly LatencyMeasure[];
}

/** The value of `stat` over `values`: nearest-rank percentile, or the largest; NaN without values. */
export function statOf(values: readonly number[], stat: LatencyStat): number {
  if (values.length === 0) return Number.NaN;
  return stat === "max" ? Math.max(...values) : percentile(values, stat === "p50" ? 0.5 : 0.99);
}

/** The judged value and whether it meets the target; a measure without values misses. */
export function judgeLatency(m: LatencyMeasure, t: LatencyTarget): { readonly value: number; readonly met: boolean } {
  const value = statOf(m.values, t.stat);
  return { value, met: t.op === "<" ? value < t.limit : value <= t.limit };
}

const digits = (unit: "ms" | "ns"): number => (unit === "ns" ? 0 : 1);
const num = (n: number, unit: "ms" | "ns"): string => (Number.isFinite(n) ? n.toFixed(digits(unit)) : "–");
const ratio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "");
const negated = { "<": "≥", "≤": ">" } as const;

/** "p99 < 100 ms met" or "p99 ≥ 100 ms MISSED", as the table's target cell. */
export function targetCell(m: LatencyMeasure, t: LatencyTarget): string {
  const { met } = judgeLatency(m, t);
  return `${t.stat} ${met ? t.op : negated[t.op]} ${num(t.limit, m.unit)} ${m.unit} ${met ? "met" : "MISSED"}`;
}

/**
 * The scenarios as one table — per measure: samples, p50, p90, p99, max (in
 * its unit), p50 and p99 relative to its baseline measure, and the target
 * verdicts — then one verdict line per target, "met" or "MISSED" first.
 */
export function formatLatencyReport(title: string, scenarios: readonly LatencyScenario[]): string {
  const header = ["scenario", "measure", "n", "unit", "p50", "p90", "p99", "max", "p50 ×base", "p99 ×base", "target"];
  const rows: string[][] = [];
  const verdicts: string[] = [];
  for (const s of scenarios) {
    s.measures.forEach((m, i) => {
      const base = m.baseline === undefined ? undefined : s.measures.find((b) => b.name === m.baseline);
      if (m.baseline !== undefined && base === undefined) throw new Error(`${s.name}: no measure named ${m.baseline}`);
      const rel = (stat: LatencyStat): string =>
        base === undefined ? "" : ratio(statOf(m.values, stat) / statOf(base.values, stat));
      const targets = m.targets ?? [];
      rows.push([
        i === 0 ? s.name : "",
        m.name,
        String(m.values.length),
        m.unit,
        num(statOf(m.values, "p50"), m.unit),
        num(m.values.length === 0 ? Number.NaN : percentile(m.values, 0.9), m.unit),
        num(statOf(m.values, "p99"), m.unit),
        num(statOf(m.values, "max"), m.unit),
        rel("p50"),
        rel("p99"),
        targets.map((t) => targetCell(m, t)).join(", "),
      ]);
      for (const t of targets) {
        const { value, met } = judgeLatency(m, t);
        const of = (stat: LatencyStat): string => num(statOf(m.values, stat), m.unit);
        const figures = `p50 ${of("p50")}, p99 ${of("p99")}, max ${of("max")} ${m.unit}`;
        const basis = t.basis === undefined ? "" : `, ${t.basis}`;
        verdicts.push(
          `${met ? "met   " : "MISSED"}  ${s.name}: ${m.name} ${t.stat} ${num(value, m.unit)} ${m.unit} ` +
            `(target ${t.stat} ${t.op} ${num(t.limit, m.unit)} ${m.unit}${basis}; ${figures}; n ${m.values.length})`,
        );
      }
    });
  }
  const numeric = (col: number): boolean => col >= 2 && col <= 9 && col !== 3;
  return [title, "", ...table(header, rows, numeric), "", ...verdicts].join("\n");
}
