import { table } from "./text-table.js";
/** What one side of a scenario did over all measured rounds. */
export interface Measurement {
  /** Side name, e.g. "kit". */
  readonly name: string;
  readonly calls: number;
  /** Response messages received (equals `calls` for unary calls). */
  readonly messages: number;
  /** Measured wall time. */
  readonly seconds: number;
  /** CPU time of the load generator (this process) meanwhile. */
  readonly clientCpuSeconds: number;
  /** CPU time of the serving process meanwhile; undefined when not known. */
  readonly serverCpuSeconds: number | undefined;
  /**
   * CPU time that other processes (and the hypervisor) took from the machine
   * meanwhile; undefined when not known (not Linux, or no server CPU).
   */
  readonly otherCpuSeconds: number | undefined;
  /** Calls/s of each measured round, in round order (the same rounds for every side of a scenario). */
  readonly roundRates: readonly number[];
}

/** One scenario's measurements, judged against a baseline measured in the same run. */
export interface Comparison {
  /** E.g. "unary 1 KiB". */
  readonly scenario: string;
  /** Name of the measurement the others are divided by. */
  readonly baseline: string;
  /** Lowest acceptable throughput ratio side/baseline, e.g. 0.8; none when omitted. */
  readonly target?: number;
  readonly measurements: readonly Measurement[];
}

/** Load-generator CPU share from which a run counts as bound by the load generator. */
const saturated = 0.9;
/** Other processes' CPU share (of one core) from which a scenario's ratios count as rough. */
const busyMachine = 0.25;
const rate = (n: number, seconds: number): number => (seconds > 0 ? n / seconds : 0);
const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const ratio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "–");
const percent = (n: number | undefined): string => (n === undefined ? "–" : `${Math.round(n * 100)}%`);
const micros = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(1));

/** Throughput of `m` relative to `baseline` (calls/s ÷ calls/s). */
export function throughputRatio(m: Measurement, baseline: Measurement): number {
  return rate(m.calls, m.seconds) / rate(baseline.calls, baseline.seconds);
}

/** Server CPU per call, µs; undefined when the server's CPU is not known. */
export function serverMicrosPerCall(m: Measurement): number | undefined {
  return m.serverCpuSeconds === undefined || m.calls === 0 ? undefined : (m.serverCpuSeconds * 1e6) / m.calls;
}

/** Lowest and highest per-round throughput ratio to the baseline: how much the noise moved it. */
export function ratioRange(m: Measurement, baseline: Measurement): readonly [number, number] {
  const ratios = m.roundRates.map((r, i) => r / baseline.roundRates[i]!).filter(Number.isFinite);
  return ratios.length === 0 ? [NaN, NaN] : [Math.min(...ratios), Math.max(...ratios)];
}

/** Whether a side meets its comparison's target; undefined for the baseline or without target. */
export function meetsTarget(c: Comparison, m: Measurement): boolean | undefined {
  const base = c.measurements.find((b) => b.name === c.baseline);
  if (c.target === undefined || base === undefined || m === base) return undefined;
  return throughputRatio(m, base) >= c.target;
}

/**
 * The comparisons as one table: per side calls/s, messages/s, throughput
 * ratio to the baseline (overall and its range over the rounds), the server's CPU use (share of one core), CPU µs per
 * call and its ratio to the baseline's, the load generator's CPU use, other
 * processes' CPU use, and the target verdict. Then one verdict line per side with a target.
 */
export function formatReport(title: string, comparisons: readonly Comparison[]): string {
  const header = [
    "scenario",
    "server",
    "calls/s",
    "msgs/s",
    "thr ×base",
    "per round",
    "srv CPU",
    "srv µs/call",
    "cost ×base",
    "load CPU",
    "other CPU",
    "target",
  ];
  const rows: string[][] = [];
  const verdicts: string[] = [];
  const loadBound = new Set<string>();
  const noisy = new Set<string>();
  for (const c of comparisons) {
    const base = c.measurements.find((m) => m.name === c.baseline);
    if (base === undefined) throw new Error(`${c.scenario}: no measurement named ${c.baseline}`);
    const baseCost = serverMicrosPerCall(base);
    c.measurements.forEach((m, i) => {
      const cost = serverMicrosPerCall(m);
      const met = meetsTarget(c, m);
      const thr = throughputRatio(m, base);
      rows.push([
        i === 0 ? c.scenario : "",
        m === base ? `${m.name} (base)` : m.name,
        int(rate(m.calls, m.seconds)),
        int(rate(m.messages, m.seconds)),
        ratio(thr),
        m === base
          ? ""
          : ratioRange(m, base)
              .map((r) => r.toFixed(2))
              .join("–"),
        percent(m.serverCpuSeconds === undefined ? undefined : m.serverCpuSeconds / m.seconds),
        micros(cost),
        cost === undefined || baseCost === undefined ? "–" : ratio(cost / baseCost),
        percent(m.clientCpuSeconds / m.seconds),
        percent(m.otherCpuSeconds === undefined ? undefined : m.otherCpuSeconds / m.seconds),
        met === undefined ? "" : met ? `≥ ${c.target!.toFixed(2)}× met` : `< ${c.target!.toFixed(2)}× MISSED`,
      ]);
      if (m.clientCpuSeconds / m.seconds >= saturated) loadBound.add(c.scenario);
      if (m.otherCpuSeconds !== undefined && m.otherCpuSeconds / m.seconds >= busyMachine) noisy.add(c.scenario);
      if (met !== undefined)
        verdicts.push(
          `${met ? "met   " : "MISSED"}  ${c.scenario}: ${m.name} ` +
            `${ratio(thr)} of ${c.baseline} (target ≥ ${c.target!.toFixed(2)}×)`,
        );
    });
  }
  const numeric = (col: number): boolean => col >= 2 && col <= 10;
  const notes: string[] = [...loadBound].map(
    (s) =>
      `note    ${s}: the load generator used ≥ ${percent(saturated)} of a core, ` +
      `so it (not the server) may bound throughput; ` +
      `"cost ×base" (server CPU per call) then tells the servers apart`,
  );
  notes.push(
    ...[...noisy].map(
      (s) =>
        `note    ${s}: other processes used ≥ ${percent(busyMachine)} of a core meanwhile ("other CPU"); ` +
        `the ratios are rough (see "per round"), re-run on a quieter machine`,
    ),
  );
  return [title, "", ...table(header, rows, numeric), "", ...verdicts, ...notes].join("\n");
}
