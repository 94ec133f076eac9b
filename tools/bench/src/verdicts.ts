/**
 * Every report prints one verdict line per target, beginning with "met" or
 * "MISSED" (report.ts, median-report.ts, fan-out-report.ts,
 * convergence-report.ts, latency-report.ts). main.ts reads them back from
 * what the suites print, so that what decides the exit code is exactly what
 * the reader saw.
 */

/** The MISSED verdict lines in `text`, without the leading "MISSED" and spaces. */
export function missedTargets(text: string): string[] {
  return text.split("\n").flatMap((line) => /^MISSED\s+(\S.*)$/.exec(line)?.[1] ?? []);
}

/** The last line `npm run bench` prints when targets were missed. */
export function missedSummary(missed: readonly string[]): string {
  return `MISSED ${missed.length} target${missed.length === 1 ? "" : "s"}: ${missed.join("; ")}`;
}

/**
 * Copies everything written to `stream` (process.stdout) while `run` runs,
 * and answers it along with `run`'s result; the stream still gets every write.
 */
export async function tee<T>(stream: NodeJS.WriteStream, run: () => Promise<T>): Promise<{ result: T; text: string }> {
  const chunks: string[] = [];
  const write = stream.write;
  stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof stream.write;
  try {
    const result = await run();
    return { result, text: chunks.join("") };
  } finally {
    stream.write = write;
  }
}
