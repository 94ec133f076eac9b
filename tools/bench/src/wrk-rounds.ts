import { machineBusyMs } from "./machine-cpu.js";
import { socketErrorCount } from "./wrk-output.js";
import { runWrk } from "./wrk.js";

/** An HTTP server under load and the URL wrk asks it for. */
export interface HttpSide {
  /** Name in the tables, e.g. "gateway". */
  readonly name: string;
  readonly url: string;
  /** CPU spent so far by every process serving this side, µs; undefined when unknown. */
  readonly cpuMicros?: () => Promise<number | undefined>;
}

/** One side's measured round: one wrk run. */
export interface RoundSample {
  readonly requests: number;
  /** wrk's measured time. */
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly bytesRead: number;
  /** Latency percentiles in ms (wrk --latency). */
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly socketErrors: number;
  /** Wall time around the wrk process, the span the CPU figures below cover. */
  readonly wallSeconds: number;
  readonly serverCpuSeconds: number | undefined;
  readonly wrkCpuSeconds: number | undefined;
  /** CPU the whole machine spent meanwhile (Linux /proc/stat), every process included. */
  readonly machineBusySeconds: number | undefined;
}

/** Options of `compareWithWrk`. */
export interface WrkRoundsOptions {
  readonly wrk: string;
  readonly connections: number;
  readonly threads: number;
  readonly rounds: number;
  /** wrk time per side and round, whole seconds. */
  readonly roundSeconds: number;
  /** Unmeasured wrk time per side before the rounds, whole seconds (0: none). */
  readonly warmupSeconds: number;
  /**
   * Fewest response bytes (headers and body) per answer: wrk checks no
   * bodies, so a server answering short would otherwise look fast.
   */
  readonly minBytesPerResponse: number;
  readonly log: (line: string) => void;
}

/** Fails the run when a server answered other than 2xx/3xx, short, or with many socket errors. */
function check(
  side: HttpSide,
  r: { requests: number; bytesRead: number; non2xx3xx: number; socketErrors: number },
  minBytes: number,
): void {
  if (r.requests === 0) throw new Error(`${side.name}: wrk completed no request against ${side.url}`);
  if (r.non2xx3xx > 0)
    throw new Error(`${side.name}: ${r.non2xx3xx} of ${r.requests} answers were not 2xx/3xx (${side.url})`);
  const perResponse = r.bytesRead / r.requests;
  // wrk prints the bytes with 2 decimals of MB/GB: allow that rounding.
  if (perResponse < minBytes * 0.99)
    throw new Error(`${side.name}: ${perResponse.toFixed(0)} bytes per answer, expected ≥ ${minBytes} (${side.url})`);
  if (r.socketErrors > Math.max(10, r.requests / 100))
    throw new Error(`${side.name}: ${r.socketErrors} socket errors in ${r.requests} requests (${side.url})`);
}

/**
 * Puts the same wrk load on every side of a scenario, one side at a time: a
 * warm-up per side, then `rounds` rounds in alternating order (A B C, C B A,
 * …) so that other load on this shared machine falls on every side alike.
 * Answers each side's rounds in `sides` order. A run with non-2xx/3xx
 * answers, short answers or more than 1% socket errors fails the scenario.
 */
export async function compareWithWrk(
  scenario: string,
  sides: readonly HttpSide[],
  options: WrkRoundsOptions,
): Promise<RoundSample[][]> {
  const load = (side: HttpSide, seconds: number) =>
    runWrk({ wrk: options.wrk, url: side.url, connections: options.connections, threads: options.threads, seconds });
  if (options.warmupSeconds > 0) {
    for (const side of sides) {
      options.log(`  ${scenario}: warming up ${side.name}`);
      const r = await load(side, options.warmupSeconds);
      check(side, { ...r, socketErrors: socketErrorCount(r) }, options.minBytesPerResponse);
    }
  }
  const samples = sides.map((): RoundSample[] => []);
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? [...sides.keys()] : [...sides.keys()].reverse();
    options.log(`  ${scenario}: round ${round + 1}/${options.rounds} (${order.map((i) => sides[i]!.name).join(", ")})`);
    for (const i of order) {
      const side = sides[i]!;
      const cpuBefore = await side.cpuMicros?.();
      const machineBefore = machineBusyMs();
      const started = performance.now();
      const r = await load(side, options.roundSeconds);
      const wallSeconds = (performance.now() - started) / 1000;
      const machineAfter = machineBusyMs();
      const cpuAfter = await side.cpuMicros?.();
      const sample: RoundSample = {
        requests: r.requests,
        seconds: r.seconds,
        requestsPerSecond: r.requestsPerSecond,
        bytesRead: r.bytesRead,
        p50Ms: r.latencyMs?.p50,
        p99Ms: r.latencyMs?.p99,
        socketErrors: socketErrorCount(r),
        wallSeconds,
        serverCpuSeconds: cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / 1e6 : undefined,
        wrkCpuSeconds: r.cpuSeconds,
        machineBusySeconds:
          machineBefore !== undefined && machineAfter !== undefined ? (machineAfter - machineBefore) / 1000 : undefined,
      };
      check(side, { ...sample, non2xx3xx: r.non2xx3xx }, options.minBytesPerResponse);
      samples[i]!.push(sample);
    }
  }
  return samples;
}

/**
 * CPU that other processes took during a round: the machine's,
 * less wrk's and the server's; undefined when one is unknown.
 */
export function otherCpuSeconds(s: RoundSample): number | undefined {
  if (s.machineBusySeconds === undefined || s.serverCpuSeconds === undefined || s.wrkCpuSeconds === undefined)
    return undefined;
  return Math.max(0, s.machineBusySeconds - s.serverCpuSeconds - s.wrkCpuSeconds);
}
