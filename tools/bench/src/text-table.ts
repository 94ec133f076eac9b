/**
 * Cells as aligned columns, the way every bench report prints its table:
 * the header, a row of dashes, then the rows; `numeric` columns to the right,
 * two spaces between columns, no trailing blanks.
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: (col: number) => boolean,
): string[] {
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, col) => (numeric(col) ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
}
