import { runLoad } from "./load.js";
import { machineBusyMs } from "./machine-cpu.js";
import type { Measurement } from "./report.js";
import type { BenchSettings } from "./suite.js";

/** One of the things a scenario compares, e.g. a server and the client calls that reach it. */
export interface Side {
  /** Name in the table, e.g. "kit" or "bare". */
  readonly name: string;
  /** One call; resolves with the number of response messages received. `worker` is 0…inFlight-1. */
  readonly call: (worker: number) => Promise<number>;
  /** CPU time spent so far by the process serving this side, µs (e.g. `ChildServer.cpuMicros`). */
  readonly cpuMicros?: () => Promise<number>;
}

/**
 * Measures sides of one scenario under the same load: a warm-up per side,
 * then `settings.rounds` rounds of `seconds / rounds` each, the side order
 * reversed every round (A B C, C B A, …) so that drift of this noisy machine
 * (other load, thermal, GC) falls on every side alike. Results are the sums
 * over the rounds, in the order of `sides`.
 */
export async function compareSides(
  scenario: string,
  sides: readonly Side[],
  settings: BenchSettings,
): Promise<Measurement[]> {
  const load = (side: Side, seconds: number) =>
    runLoad({ inFlight: settings.inFlight, durationMs: seconds * 1000, call: side.call });
  if (settings.warmupSeconds > 0) {
    for (const side of sides) {
      settings.log(`  ${scenario}: warming up ${side.name}`);
      await load(side, settings.warmupSeconds);
    }
  }
  const totals = new Map(
    sides.map((s) => [
      s,
      {
        calls: 0,
        messages: 0,
        ms: 0,
        clientCpuMs: 0,
        serverCpuMs: 0,
        machineMs: 0,
        machineKnown: true,
        roundRates: [] as number[],
      },
    ]),
  );
  const roundSeconds = settings.seconds / settings.rounds;
  for (let round = 0; round < settings.rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    settings.log(`  ${scenario}: round ${round + 1}/${settings.rounds} (${order.map((s) => s.name).join(", ")})`);
    for (const side of order) {
      const cpuBefore = await side.cpuMicros?.();
      const machineBefore = machineBusyMs();
      const r = await load(side, roundSeconds);
      const machineAfter = machineBusyMs();
      const cpuAfter = await side.cpuMicros?.();
      const t = totals.get(side)!;
      t.calls += r.calls;
      t.messages += r.messages;
      t.ms += r.elapsedMs;
      t.clientCpuMs += r.cpuMs;
      t.roundRates.push((r.calls * 1000) / r.elapsedMs);
      if (machineBefore !== undefined && machineAfter !== undefined) t.machineMs += machineAfter - machineBefore;
      else t.machineKnown = false;
      if (cpuBefore !== undefined && cpuAfter !== undefined) t.serverCpuMs += (cpuAfter - cpuBefore) / 1000;
    }
  }
  return sides.map((side) => {
    const t = totals.get(side)!;
    return {
      name: side.name,
      calls: t.calls,
      messages: t.messages,
      seconds: t.ms / 1000,
      clientCpuSeconds: t.clientCpuMs / 1000,
      serverCpuSeconds: side.cpuMicros === undefined ? undefined : t.serverCpuMs / 1000,
      roundRates: t.roundRates,
      // What the machine did beyond this client and server (when both are known): other load on the shared cores.
      otherCpuSeconds:
        t.machineKnown && side.cpuMicros !== undefined
          ? Math.max(0, t.machineMs - t.clientCpuMs - t.serverCpuMs) / 1000
          : undefined,
    };
  });
}
