/**
 * The value of one sample in Prometheus text exposition format: the series
 * named `name` whose labels include every one of `labels` (others may be
 * present); undefined when no line matches.
 */
export function promSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = m[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

/** Fetches `<httpUrl>/metrics` and reads one sample from it (see `promSample`). */
export async function scrapeSample(
  httpUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const res = await fetch(`${httpUrl}/metrics`);
  return promSample(await res.text(), name, labels);
}
