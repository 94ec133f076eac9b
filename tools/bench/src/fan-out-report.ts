import type { FanOutSample } from "./fan-out.js";
import { table } from "./text-table.js";

/** One target's fan-out samples, named as in the table. */
export interface FanOutMeasurement {
  readonly name: string;
  readonly samples: readonly FanOutSample[];
}

/** A fan-out comparison: targets measured in the same run, judged against a baseline and a latency target. */
export interface FanOutComparison {
  /** Sessions each transition had to reach, for the labels. */
  readonly sessions: number;
  /** Name of the measurement the others are divided by. */
  readonly baseline: string;
  /** Highest acceptable p99 of "trip → OPEN at every session", ms, for the sides other than the baseline. */
  readonly targetP99Ms: number;
  readonly measurements: readonly FanOutMeasurement[];
}

/** The value at or below which `p` of `values` lie (nearest rank); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1]!;
}

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : "–");
const ratio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "–");

const events: readonly {
  readonly key: keyof FanOutSample;
  readonly label: (sessions: number) => string;
  readonly judged: boolean;
}[] = [
  { key: "openAll", label: (n) => `trip → OPEN at all ${n}`, judged: true },
  { key: "openFirst", label: () => "trip → OPEN at the first", judged: false },
  { key: "closeAll", label: (n) => `ResetBreaker → CLOSED at all ${n}`, judged: false },
];

/** Whether the p99 of "trip → OPEN at every session" of `m` meets the target; undefined for the baseline. */
export function meetsLatencyTarget(c: FanOutComparison, m: FanOutMeasurement): boolean | undefined {
  if (m.name === c.baseline) return undefined;
  return (
    percentile(
      m.samples.map((s) => s.openAll),
      0.99,
    ) < c.targetP99Ms
  );
}

/**
 * The fan-out latencies as one table: per event and target p50, p90, p99
 * and max in ms, p50 and p99 relative to the baseline's, and the target
 * verdict on "trip → OPEN at all"; then one verdict line per judged target.
 */
export function formatFanOutReport(title: string, c: FanOutComparison): string {
  const base = c.measurements.find((m) => m.name === c.baseline);
  if (base === undefined) throw new Error(`fan-out: no measurement named ${c.baseline}`);
  const header = [
    "event",
    "server",
    "runs",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "p50 ×base",
    "p99 ×base",
    "target",
  ];
  const rows: string[][] = [];
  const verdicts: string[] = [];
  for (const e of events) {
    const of = (m: FanOutMeasurement): number[] => m.samples.map((s) => s[e.key]);
    c.measurements.forEach((m, i) => {
      const values = of(m);
      const p50 = percentile(values, 0.5);
      const p99 = percentile(values, 0.99);
      const met = e.judged ? meetsLatencyTarget(c, m) : undefined;
      rows.push([
        i === 0 ? e.label(c.sessions) : "",
        m === base ? `${m.name} (base)` : m.name,
        String(values.length),
        ms(p50),
        ms(percentile(values, 0.9)),
        ms(p99),
        ms(values.length === 0 ? NaN : Math.max(...values)),
        m === base ? "" : ratio(p50 / percentile(of(base), 0.5)),
        m === base ? "" : ratio(p99 / percentile(of(base), 0.99)),
        met === undefined ? "" : met ? `p99 < ${c.targetP99Ms} ms met` : `p99 ≥ ${c.targetP99Ms} ms MISSED`,
      ]);
      if (met !== undefined) {
        const max = Math.max(...values);
        verdicts.push(
          `${met ? "met   " : "MISSED"}  ${m.name}: ${e.label(c.sessions)} sessions p99 ${ms(p99)} ms, ` +
            `max ${ms(max)} ms (target p99 < ${c.targetP99Ms} ms)`,
        );
      }
    });
  }
  const numeric = (col: number): boolean => col >= 2 && col <= 8;
  return [title, "", ...table(header, rows, numeric), "", ...verdicts].join("\n");
}
