import { setTimeout as sleep } from "node:timers/promises";
import { machineBusyMs } from "./machine-cpu.js";
import type { Measurement } from "./report.js";
import type { PumpFlow, SessionFleet } from "./session-fleet.js";
import type { BenchSettings } from "./suite.js";

/** A server that absorbs fire-and-forget stream messages, and the sessions that feed it. */
export interface AbsorbSide {
  /** Name in the table, e.g. "coordinator" or "bare". */
  readonly name: string;
  readonly fleet: SessionFleet;
  /** Messages the server has processed so far, as the server itself counts them (e.g. read from its counters). */
  readonly absorbed: () => Promise<number>;
  /** CPU time spent so far by the serving process, µs. */
  readonly cpuMicros?: () => Promise<number | undefined>;
}

/** Time for the sessions' buffers and flow-control windows to fill before a round's first reading. */
const fillMs = 150;
/** How long a server may take to work through its backlog once the sessions stop. */
const settleTimeoutMs = 15_000;

interface Reading {
  readonly count: number;
  /** performance.now() halfway through the reading call. */
  readonly at: number;
}

async function read(side: AbsorbSide): Promise<Reading> {
  const before = performance.now();
  const count = await side.absorbed();
  return { count, at: (before + performance.now()) / 2 };
}

/** Waits until the server's count stops moving: the backlog in buffers and windows is processed. */
async function settle(side: AbsorbSide): Promise<void> {
  const deadline = performance.now() + settleTimeoutMs;
  let last = await side.absorbed();
  let still = 0;
  while (still < 2) {
    if (performance.now() > deadline)
      throw new Error(`${side.name} still absorbing ${settleTimeoutMs} ms after the sessions stopped`);
    await sleep(25);
    const now = await side.absorbed();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/**
 * Measures how many messages per second each side's server absorbs when
 * every one of its sessions writes `bytes` as fast as the server takes them
 * (nothing answers a report, so the sessions pace themselves by asking for
 * an acknowledgement every `flow.batch` messages: `BenchSession.pump`).
 * The rate is read from the server's own count, before and after a fixed
 * time with the sessions writing all along, so messages still in buffers do
 * not count. Like `compareSides`: a warm-up per side, then rounds with the
 * side order reversed every round, one side writing at a time; between sides
 * the server works through its backlog first. `calls` and `messages` of the
 * answer are both the messages absorbed.
 */
export async function compareAbsorption(
  scenario: string,
  sides: readonly AbsorbSide[],
  bytes: Buffer,
  flow: PumpFlow,
  settings: BenchSettings,
): Promise<Measurement[]> {
  const writing = async <T>(side: AbsorbSide, body: () => Promise<T>): Promise<T> => {
    const stop = side.fleet.pump(bytes, flow);
    try {
      return await body();
    } finally {
      await stop();
      await settle(side);
    }
  };
  if (settings.warmupSeconds > 0) {
    for (const side of sides) {
      settings.log(`  ${scenario}: warming up ${side.name}`);
      await writing(side, () => sleep(settings.warmupSeconds * 1000));
    }
  }
  const totals = new Map(
    sides.map((s) => [
      s,
      {
        count: 0,
        ms: 0,
        clientCpuMs: 0,
        serverCpuMs: 0,
        serverKnown: true,
        machineMs: 0,
        machineKnown: true,
        roundRates: [] as number[],
      },
    ]),
  );
  const roundMs = (settings.seconds / settings.rounds) * 1000;
  for (let round = 0; round < settings.rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    settings.log(`  ${scenario}: round ${round + 1}/${settings.rounds} (${order.map((s) => s.name).join(", ")})`);
    for (const side of order) {
      const t = totals.get(side)!;
      await writing(side, async () => {
        await sleep(fillMs);
        const cpuFrom = performance.now();
        const cpuBefore = await side.cpuMicros?.();
        const machineBefore = machineBusyMs();
        const clientBefore = process.cpuUsage();
        const first = await read(side);
        await sleep(roundMs);
        const last = await read(side);
        const client = process.cpuUsage(clientBefore);
        const machineAfter = machineBusyMs();
        const cpuAfter = await side.cpuMicros?.();
        const ms = last.at - first.at;
        // The CPU figures span the readings themselves (tens of ms on a busy machine): scale them to the counted time.
        const share = ms / (performance.now() - cpuFrom);
        t.count += last.count - first.count;
        t.ms += ms;
        t.roundRates.push(((last.count - first.count) * 1000) / ms);
        t.clientCpuMs += ((client.user + client.system) / 1000) * share;
        if (cpuBefore !== undefined && cpuAfter !== undefined) t.serverCpuMs += ((cpuAfter - cpuBefore) / 1000) * share;
        else t.serverKnown = false;
        if (machineBefore !== undefined && machineAfter !== undefined)
          t.machineMs += (machineAfter - machineBefore) * share;
        else t.machineKnown = false;
      });
    }
  }
  return sides.map((side) => {
    const t = totals.get(side)!;
    const serverKnown = side.cpuMicros !== undefined && t.serverKnown;
    return {
      name: side.name,
      calls: t.count,
      messages: t.count,
      seconds: t.ms / 1000,
      clientCpuSeconds: t.clientCpuMs / 1000,
      serverCpuSeconds: serverKnown ? t.serverCpuMs / 1000 : undefined,
      roundRates: t.roundRates,
      otherCpuSeconds:
        t.machineKnown && serverKnown ? Math.max(0, t.machineMs - t.clientCpuMs - t.serverCpuMs) / 1000 : undefined,
    };
  });
}
