import { otherCpuSeconds, type RoundSample } from "./wrk-rounds.js";
import { table } from "./text-table.js";

/** One side's measured rounds. */
export interface MedianSide {
  readonly name: string;
  readonly samples: readonly RoundSample[];
}

/** A throughput target: `side`'s median req/s at least `atLeast` × `baseline`'s. */
export interface MedianTarget {
  readonly side: string;
  readonly baseline: string;
  readonly atLeast: number;
}

/** One scenario: sides measured in the same alternating rounds, and the targets judged on them. */
export interface MedianComparison {
  readonly scenario: string;
  readonly sides: readonly MedianSide[];
  readonly targets: readonly MedianTarget[];
}

/** The middle value (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median of the defined values; undefined when there are none. */
function medianOf(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return known.length === 0 ? undefined : median(known);
}

const medianRate = (s: MedianSide): number => median(s.samples.map((r) => r.requestsPerSecond));

/** Per-round ratios of `side` to `baseline` (the same round's runs): how much the noise moved the ratio. */
export function roundRatios(side: MedianSide, baseline: MedianSide): number[] {
  return side.samples
    .map((r, i) => r.requestsPerSecond / (baseline.samples[i]?.requestsPerSecond ?? NaN))
    .filter(Number.isFinite);
}

/** The target's ratio (median req/s ÷ median req/s) and whether it is met; undefined when a side is missing. */
export function judge(
  c: MedianComparison,
  t: MedianTarget,
): { ratio: number; met: boolean; range: readonly [number, number] } | undefined {
  const side = c.sides.find((s) => s.name === t.side);
  const base = c.sides.find((s) => s.name === t.baseline);
  if (side === undefined || base === undefined) return undefined;
  const ratio = medianRate(side) / medianRate(base);
  const per = roundRatios(side, base);
  return {
    ratio,
    met: ratio >= t.atLeast,
    range: per.length === 0 ? [NaN, NaN] : [Math.min(...per), Math.max(...per)],
  };
}

const int = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n) ? "–" : Math.round(n).toLocaleString("en-US");
const fixed = (n: number | undefined, digits: number): string =>
  n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(digits);
const ratio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "–");
const percent = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n) ? "–" : `${Math.round(n * 100)}%`;

/** Share of a core at or above which wrk counts as possibly bounding throughput (per wrk thread). */
const saturated = 0.9;
/** Other processes' CPU (in cores) at or above which the ratios count as rough. */
const busyMachine = 0.25;

/**
 * The scenarios as one table of medians over the rounds: per side its
 * median req/s, the ratio of that to each baseline's median, median p50 and
 * p99 latency, the server's CPU share and CPU µs per request, wrk's and other
 * processes' CPU share (of one core); then a verdict line per target (with
 * the range of the per-round ratios) and notes on load-bound or noisy runs.
 * `wrkThreads` sets when wrk counts as saturated.
 */
export function formatMedianReport(
  title: string,
  comparisons: readonly MedianComparison[],
  wrkThreads: number,
): string {
  const baselines = [...new Set(comparisons.flatMap((c) => c.targets.map((t) => t.baseline)))];
  const header = [
    "scenario",
    "server",
    "req/s",
    ...baselines.map((b) => `×${b}`),
    "p50 ms",
    "p99 ms",
    "srv CPU",
    "srv µs/req",
    "wrk CPU",
    "other CPU",
    "target",
  ];
  const rows: string[][] = [];
  const verdicts: string[] = [];
  const notes: string[] = [];
  for (const c of comparisons) {
    let loadBound = false;
    let noisy = false;
    c.sides.forEach((s, i) => {
      // CPU seconds over the wall time around each wrk run: a share of one core, median over the rounds.
      const share = (f: (r: RoundSample) => number | undefined): number | undefined =>
        medianOf(s.samples.map((r) => (f(r) === undefined ? undefined : f(r)! / r.wallSeconds)));
      const wrkShare = share((r) => r.wrkCpuSeconds);
      const otherShare = share(otherCpuSeconds);
      if (wrkShare !== undefined && wrkShare >= saturated * wrkThreads) loadBound = true;
      if (otherShare !== undefined && otherShare >= busyMachine) noisy = true;
      const judged = c.targets.filter((t) => t.side === s.name).map((t) => ({ t, j: judge(c, t) }));
      rows.push([
        i === 0 ? c.scenario : "",
        s.name,
        int(medianRate(s)),
        ...baselines.map((b) => {
          const base = c.sides.find((x) => x.name === b);
          return base === undefined ? "–" : ratio(medianRate(s) / medianRate(base));
        }),
        fixed(medianOf(s.samples.map((r) => r.p50Ms)), 2),
        fixed(medianOf(s.samples.map((r) => r.p99Ms)), 2),
        percent(share((r) => r.serverCpuSeconds)),
        fixed(
          medianOf(
            s.samples.map((r) =>
              r.serverCpuSeconds === undefined ? undefined : (r.serverCpuSeconds * 1e6) / r.requests,
            ),
          ),
          1,
        ),
        percent(wrkShare),
        percent(otherShare),
        judged
          .map(({ t, j }) =>
            j === undefined
              ? ""
              : `${j.met ? "≥" : "<"} ${t.atLeast.toFixed(2)}× ${t.baseline} ${j.met ? "met" : "MISSED"}`,
          )
          .filter((x) => x !== "")
          .join(", "),
      ]);
      for (const { t, j } of judged) {
        if (j === undefined) continue;
        verdicts.push(
          `${j.met ? "met   " : "MISSED"}  ${c.scenario}: ${t.side} ${ratio(j.ratio)} of ${t.baseline} ` +
            `(median req/s; rounds ${j.range.map((r) => r.toFixed(2)).join("–")}; target ≥ ${t.atLeast.toFixed(2)}×)`,
        );
      }
    });
    if (loadBound)
      notes.push(
        `note    ${c.scenario}: wrk used ≥ ${percent(saturated)} of its ` +
          `${wrkThreads === 1 ? "core" : `${wrkThreads} cores`} for some server, ` +
          `so wrk (not that server) may bound its rate; "srv µs/req" still tells the servers apart`,
      );
    if (noisy)
      notes.push(
        `note    ${c.scenario}: other processes used ≥ ${percent(busyMachine)} of a core meanwhile ("other CPU"); ` +
          `the ratios are rough, re-run on a quieter machine`,
      );
  }
  const numeric = (col: number): boolean => col >= 2 && col < header.length - 1;
  return [title, "", ...table(header, rows, numeric), "", ...verdicts, ...notes].join("\n");
}
