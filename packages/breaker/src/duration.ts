/**
 * Durations as operators write them in BREAKER_CONFIG: "500ms", "30s", "5m",
 * "1h", compounds such as "1m30s", or a plain number of milliseconds.
 */

const unitMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const whole = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** The result of reading a duration: milliseconds, or why the value is not one. */
export type DurationParse =
  { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly problem: string };

/**
 * Reads a duration. Numbers are milliseconds; strings need a unit on every
 * part. Negative, non-finite and unitless strings are refused with a message
 * that quotes the value.
 */
export function parseDuration(value: unknown): DurationParse {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) return { ok: false, problem: `must be a duration ≥ 0, got ${value}` };
    return { ok: true, ms: value };
  }
  if (typeof value !== "string") {
    return { ok: false, problem: `must be a duration such as "30s" or a number of ms, got ${describe(value)}` };
  }
  const text = value.trim();
  if (!whole.test(text)) {
    return { ok: false, problem: `must be a duration such as "500ms", "30s" or "5m", got ${JSON.stringify(value)}` };
  }
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(part)) ms += Number(amount) * (unitMs[unit ?? "ms"] ?? 1);
  return { ok: true, ms };
}

/** How a value is quoted in a problem message. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
