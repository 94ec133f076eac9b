/**
 * The metric names a PromQL expression reads, so that a test can hold the
 * shipped dashboard and alert rules to the series the services export. A
 * lexical reading, not a parser: enough for the expressions shipped here
 * (aggregations, functions, binary operators, label matchers, ranges,
 * Grafana's `$variables`); a name that is only a label (`by (le)`) or a
 * function (`rate(`) is not a metric.
 */

// Words PromQL uses as operators and modifiers, which the lexer would otherwise take for names.
const keywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const operators = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** Every distinct metric name in `expr`, in order of appearance. */
export function metricNamesIn(expr: string): string[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // range and subquery durations
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ") // label lists
    .replace(/\$\{?\w+\}?/g, " "); // Grafana variables ($__rate_interval, ${datasource})
  const names: string[] = [];
  // Not after a digit or a dot: 1e3 and 5m are numbers and durations, not names.
  for (const m of text.matchAll(/(?<![\w.:])[A-Za-z_:][\w:]*/g)) {
    const word = m[0];
    const rest = text.slice(m.index + word.length);
    if (/^\s*\(/.test(rest)) continue; // a function or an aggregation
    if (keywords.has(word) || operators.has(word.toLowerCase())) continue;
    if (!names.includes(word)) names.push(word);
  }
  return names;
}
