/** One byte range as CacheService takes it. */
export type RangeSpec = { start: bigint; end?: bigint } | { suffixLength: bigint };

/**
 * Parses a Range header (RFC 9110 14.1.2). Answers one range, "ignore" when
 * the header is to be ignored (another unit, several ranges — a 200 with the
 * whole object is allowed then — or a syntax error, which RFC 9110 14.2 says
 * to ignore), or "unsatisfiable" for a syntactically valid but impossible
 * range such as `bytes=-0`.
 */
export function parseRangeHeader(value: string | undefined): RangeSpec | "ignore" | "unsatisfiable" | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(value);
  if (m === null) return "ignore";
  const specs = m[1]!
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (specs.length !== 1) return "ignore";
  const spec = specs[0]!;
  const suffix = /^-(\d{1,19})$/.exec(spec);
  if (suffix) {
    const n = BigInt(suffix[1]!);
    return n === 0n ? "unsatisfiable" : { suffixLength: n };
  }
  const range = /^(\d{1,19})-(\d{1,19})?$/.exec(spec);
  if (range === null) return "ignore";
  const start = BigInt(range[1]!);
  if (range[2] === undefined) return { start };
  const end = BigInt(range[2]);
  return end < start ? "ignore" : { start, end };
}
