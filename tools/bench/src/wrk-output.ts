/** Socket errors wrk counted over a run (its "Socket errors:" line; all 0 when it printed none). */
export interface WrkSocketErrors {
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly timeout: number;
}

/** What one wrk run reported. */
export interface WrkResult {
  /** Completed requests, whatever their status ("N requests in …"). */
  readonly requests: number;
  /** Measured time, s: `requests / requestsPerSecond` (more digits than the printed "in 2.00s"). */
  readonly seconds: number;
  /** "Requests/sec:", completed requests ÷ measured time. */
  readonly requestsPerSecond: number;
  /** Response bytes read, headers included ("…, 48.23MB read"; wrk prints 2 decimals of binary units). */
  readonly bytesRead: number;
  /** Answers outside 2xx and 3xx ("Non-2xx or 3xx responses:"); wrk counts them as requests. */
  readonly non2xx3xx: number;
  readonly socketErrors: WrkSocketErrors;
  /** Latency percentiles in ms, from `--latency`'s distribution; undefined without that flag. */
  readonly latencyMs:
    { readonly p50: number; readonly p75: number; readonly p90: number; readonly p99: number } | undefined;
}

// wrk 4.x prints times with units from format_time_us and sizes from format_binary (units.c).
const timeUnitsMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const sizeUnits: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function toMs(value: string, unit: string): number {
  const scale = timeUnitsMs[unit];
  if (scale === undefined) throw new Error(`wrk printed a time in unknown units: ${value}${unit}`);
  return Number(value) * scale;
}

/**
 * Reads wrk's (4.x) summary from its standard output. Throws when the lines
 * every completed run prints ("N requests in T, S read" and "Requests/sec:")
 * are missing, e.g. when wrk could not connect at all.
 */
export function parseWrkOutput(text: string): WrkResult {
  const totals = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read\s*$/m.exec(text);
  const rate = /^Requests\/sec:\s+([\d.]+)\s*$/m.exec(text);
  if (totals === null || rate === null) {
    throw new Error(`wrk printed no summary (no "requests in" or "Requests/sec:" line):\n${text.trim()}`);
  }
  const requests = Number(totals[1]);
  const requestsPerSecond = Number(rate[1]);
  const printedSeconds = toMs(totals[2]!, totals[3]!) / 1000;
  const errors = /^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$/m.exec(text);
  const non2xx = /^\s*Non-2xx or 3xx responses: (\d+)\s*$/m.exec(text);
  const percentile = (p: number): number | undefined => {
    const m = new RegExp(`^\\s*${p}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m").exec(text);
    return m === null ? undefined : toMs(m[1]!, m[2]!);
  };
  const [p50, p75, p90, p99] = [50, 75, 90, 99].map(percentile);
  return {
    requests,
    // "Requests/sec" has more digits than "in 2.00s"; without requests, only the printed time is left.
    seconds: requestsPerSecond > 0 ? requests / requestsPerSecond : printedSeconds,
    requestsPerSecond,
    bytesRead: Math.round(Number(totals[4]) * sizeUnits[totals[5]!]!),
    non2xx3xx: non2xx === null ? 0 : Number(non2xx[1]),
    socketErrors:
      errors === null
        ? { connect: 0, read: 0, write: 0, timeout: 0 }
        : { connect: Number(errors[1]), read: Number(errors[2]), write: Number(errors[3]), timeout: Number(errors[4]) },
    latencyMs:
      p50 === undefined || p75 === undefined || p90 === undefined || p99 === undefined
        ? undefined
        : { p50, p75, p90, p99 },
  };
}

/** Socket errors of a run, added up. */
export function socketErrorCount(r: WrkResult): number {
  const e = r.socketErrors;
  return e.connect + e.read + e.write + e.timeout;
}

/**
 * The user and system CPU seconds of the children of a shell, from bash's
 * `times` builtin, which prints two lines, the shell's own and then its
 * children's (e.g. "0m1.523s 0m0.204s"): how the bench learns what wrk itself
 * spent. Undefined when the lines are not there.
 */
export function parseShellTimes(text: string): number | undefined {
  const lines = [...text.matchAll(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/gm)];
  const children = lines.at(-1);
  if (lines.length < 2 || children === undefined) return undefined;
  return Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4]);
}
