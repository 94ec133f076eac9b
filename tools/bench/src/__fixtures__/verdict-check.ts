/**
 * Test support: reads a printed report back and checks that every verdict
 * agrees with the figures printed beside it, by recomputing it from them.
 * Understands the target cells of every report here: latency ("p99 < 20 ms
 * met", "max ≥ 100 ms MISSED", "p50 ≤ 1.2 ms met", against the "p99"/"p99 ms"
 * column) and throughput ("≥ 0.80× met" against "thr ×base", "≥ 0.50× nginx
 * MISSED" against "×nginx").
 */

const latencyCell = /^(p50|p99|max) ([<≤≥>]) (\d+(?:\.\d+)?) (ms|ns) (met|MISSED)$/;
const throughputCell = /^([≥<]) (\d+(?:\.\d+)?)× (?:(\S+) )?(met|MISSED)$/;

/** Whether `value op limit`; a figure printed equal to the limit fits either side (rounded for print). */
const holds = (value: number, op: string, limit: number): boolean =>
  value === limit ||
  (op === "<" ? value < limit : op === "≤" ? value <= limit : op === "≥" ? value >= limit : value > limit);

/** Splits a table's lines into cells by the column positions of its dashed line. */
function columns(lines: readonly string[], dashedAt: number): { header: string[]; rows: string[][] } {
  const dashed = lines[dashedAt]!;
  const spans: [number, number][] = [];
  for (const m of dashed.matchAll(/-+/g)) spans.push([m.index!, m.index! + m[0].length]);
  const cut = (line: string): string[] =>
    spans.map(([from, to], i) => line.slice(from, i === spans.length - 1 ? undefined : to).trim());
  const rows: string[][] = [];
  for (const line of lines.slice(dashedAt + 1)) {
    if (line.trim() === "") break;
    rows.push(cut(line));
  }
  return { header: cut(lines[dashedAt - 1]!), rows };
}

/**
 * Checks every judged cell of every table in `report` against its row's
 * figures, and that the verdict lines say met/MISSED as often as the cells
 * do; throws on any disagreement. Answers how many verdicts were checked.
 */
export function checkVerdicts(report: string): number {
  const lines = report.split("\n");
  let judged = 0;
  let missedCells = 0;
  lines.forEach((line, at) => {
    if (at === 0 || !/^-+( {2}-+)*$/.test(line)) return;
    const { header, rows } = columns(lines, at);
    const target = header.indexOf("target");
    if (target < 0) return;
    for (const row of rows) {
      const cell = row[target] ?? "";
      if (cell === "") continue;
      for (const part of cell.split(", ")) {
        const figure = (names: string[]): number => {
          const col = header.findIndex((h) => names.includes(h));
          if (col < 0) throw new Error(`no column ${names.join(" or ")} for ${JSON.stringify(part)}`);
          return Number(row[col]!.replace(/[×,]/g, ""));
        };
        // The stated relation must hold for the printed figure, and say "met" exactly when it is the
        // target's side of it.
        let holdsHere: boolean;
        let meetsSide: boolean;
        let said: string;
        const l = latencyCell.exec(part);
        const t = throughputCell.exec(part);
        if (l !== null) {
          const [, stat, op, limit, unit, verdict] = l;
          holdsHere = holds(figure([stat!, `${stat} ${unit}`]), op!, Number(limit));
          meetsSide = op === "<" || op === "≤";
          said = verdict!;
        } else if (t !== null) {
          const [, op, limit, baseline, verdict] = t;
          holdsHere = holds(figure(baseline === undefined ? ["thr ×base"] : [`×${baseline}`]), op!, Number(limit));
          meetsSide = op === "≥";
          said = verdict!;
        } else {
          throw new Error(`target cell not understood: ${JSON.stringify(part)}`);
        }
        const met = said === "met";
        if (!holdsHere || met !== meetsSide) {
          throw new Error(`verdict "${part}" disagrees with its row: ${JSON.stringify(row)}`);
        }
        judged++;
        if (!met) missedCells++;
      }
    }
  });
  const verdictLines = lines.filter((l) => /^(met {3}|MISSED) {2}/.test(l));
  const missedLines = verdictLines.filter((l) => l.startsWith("MISSED"));
  if (verdictLines.length !== judged || missedLines.length !== missedCells) {
    const said = `${verdictLines.length} verdict lines (${missedLines.length} MISSED)`;
    throw new Error(`${said} for ${judged} judged cells (${missedCells} MISSED)`);
  }
  return judged;
}
