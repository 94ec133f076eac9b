import { setTimeout as sleep } from "node:timers/promises";
import { breakerV1 } from "@breakwater/proto";
import type { GrpcCallOptions, GrpcClient } from "@breakwater/server-kit";
import type { SessionFleet } from "./session-fleet.js";
import { reportBytes } from "./session-fleet.js";

const { BreakerState } = breakerV1;

/** A BreakerCoordinator (the real one or a baseline) with its sessions and an ops client. */
export interface FanOutTarget {
  /** Name in the table, e.g. "coordinator" or "bare". */
  readonly name: string;
  /** At least 2 sessions, each with hello for the breaker. */
  readonly fleet: SessionFleet;
  /** Ops client on a connection of its own (GetBreaker, ResetBreaker). */
  readonly ops: GrpcClient<typeof breakerV1.BreakerCoordinator>;
  /** Options of ResetBreaker (the admin token). */
  readonly admin: GrpcCallOptions;
}

/** One run against one target, in ms on this process's monotonic clock. */
export interface FanOutSample {
  /** From writing the threshold-crossing report until OPEN had arrived at every session. */
  readonly openAll: number;
  /** From the same write until OPEN arrived at the first session. */
  readonly openFirst: number;
  /** From calling ResetBreaker until CLOSED had arrived at every session. */
  readonly closeAll: number;
}

/** Successes each session reports before the failures, so that every session counts as reporting (quorum). */
const successesEach = 4;
/** Failures each of the two failing sessions reports: enough to cross `consecutive_failures` (5). */
const failures = 5;
/** How long one step of a run may take before the run fails. */
const stepTimeoutMs = 5000;

async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => reject(new Error(`${what}: not within ${stepTimeoutMs} ms`)), stepTimeoutMs)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls GetBreaker until `done` holds (at most `stepTimeoutMs`). */
async function until(
  target: FanOutTarget,
  breaker: string,
  what: string,
  done: (b: breakerV1.Breaker) => boolean,
): Promise<breakerV1.Breaker> {
  const deadline = performance.now() + stepTimeoutMs;
  for (;;) {
    const b = (await target.ops.getBreaker({ name: breaker })).breaker;
    if (b !== undefined && done(b)) return b;
    if (performance.now() > deadline)
      throw new Error(
        `${target.name}: ${what}: not within ${stepTimeoutMs} ms (state ${b?.state}, ` +
          `window ${JSON.stringify(b?.window, (_, v: unknown) => (typeof v === "bigint" ? Number(v) : v))})`,
      );
    await sleep(1);
  }
}

/** Arrival times of `state` of `breaker` at every session; fails naming how many sessions it reached. */
async function arrivals(target: FanOutTarget, breaker: string, state: breakerV1.BreakerState): Promise<number[]> {
  const times: (number | undefined)[] = target.fleet.sessions.map(() => undefined);
  const each = target.fleet.sessions.map((s, i) => s.nextState(breaker, state).then((at) => (times[i] = at)));
  return within("the others are missing", Promise.all(each)).catch((err: unknown) => {
    const reached = times.filter((t) => t !== undefined).length;
    throw new Error(
      `${target.name}: ${BreakerState[state]} reached ${reached} of ${times.length} sessions: ` +
        `${(err as Error).message}`,
    );
  });
}

/**
 * One fan-out run, starting with the breaker closed and its window empty:
 * every session reports a few successes (so all of them count as reporting
 * instances and quorum needs 2 failing ones); the first session reports
 * failures, which alone make no quorum (checked: the breaker stays closed);
 * then the second session's failures cross the threshold — the measured
 * moment — and the OPEN transition is timed to its arrival at every session.
 * ResetBreaker then closes it, timed the same way, and the next run starts
 * only once CLOSED is everywhere.
 */
export async function fanOutRun(target: FanOutTarget, breaker: string): Promise<FanOutSample> {
  const sessions = target.fleet.sessions;
  const successes = reportBytes(breaker, successesEach, 0);
  for (const s of sessions) s.write(successes);
  await until(
    target,
    breaker,
    "successes absorbed",
    (b) => Number(b.window?.successes ?? 0) >= sessions.length * successesEach,
  );
  sessions[0]!.write(reportBytes(breaker, 0, failures));
  const before = await until(
    target,
    breaker,
    "first failures absorbed",
    (b) => Number(b.window?.failures ?? 0) >= failures,
  );
  if (before.state !== BreakerState.CLOSED)
    throw new Error(`${target.name}: one failing instance of ${sessions.length} opened the breaker (no quorum)`);

  const opened = arrivals(target, breaker, BreakerState.OPEN);
  const crossingReport = reportBytes(breaker, 0, failures);
  const t0 = performance.now();
  sessions[1]!.write(crossingReport);
  const openTimes = await opened;

  const closed = arrivals(target, breaker, BreakerState.CLOSED);
  const t1 = performance.now();
  await within(`${target.name}: ResetBreaker`, target.ops.resetBreaker({ name: breaker }, target.admin));
  const closeTimes = await closed;
  return {
    openAll: Math.max(...openTimes) - t0,
    openFirst: Math.min(...openTimes) - t0,
    closeAll: Math.max(...closeTimes) - t1,
  };
}

/**
 * `runs` fan-out runs per target after `warmups` unmeasured ones, the
 * targets alternating (A B, B A, …) so that other load on the machine falls
 * on each alike. Answers the samples per target, in the order of `targets`.
 */
export async function compareFanOut(
  targets: readonly FanOutTarget[],
  breaker: string,
  runs: number,
  warmups: number,
  log: (line: string) => void,
): Promise<FanOutSample[][]> {
  // Start from a closed breaker with an empty window (the
  // throughput scenario, or an earlier run, may have left counts).
  for (const t of targets) {
    await t.ops.resetBreaker({ name: breaker }, t.admin);
    await until(t, breaker, "reset", (b) => b.state === BreakerState.CLOSED);
  }
  const samples = targets.map((): FanOutSample[] => []);
  for (let run = -warmups; run < runs; run++) {
    if (run === -warmups) log(`  fan-out: ${warmups} warm-up runs per server`);
    if (run >= 0 && run % 20 === 0) log(`  fan-out: runs ${run + 1}–${Math.min(run + 20, runs)} of ${runs}`);
    const order = run % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const sample = await fanOutRun(t, breaker);
      if (run >= 0) samples[targets.indexOf(t)]!.push(sample);
    }
  }
  return samples;
}
