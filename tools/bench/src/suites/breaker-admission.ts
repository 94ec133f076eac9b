import { circuitBreaker, ConsecutiveBreaker, handleAll } from "cockatiel";
import { createBreakerClient, type CoordinatedBreaker } from "@breakwater/breaker/session";
import { parseBreakerConfigFile } from "@breakwater/breaker";
import type { Comparison, Measurement } from "../report.js";
import type { Suite } from "../suite.js";

/** Calls per measured round and side: enough for a stable ns/call, little enough for 2 cores. */
const callsPerRound = 200_000;
const noop = async (): Promise<void> => undefined;

type Side = { readonly name: string; readonly call: () => Promise<void> };

/**
 * Issue 5: what the coordinated breaker costs per call on the request path
 * (admit, the call, record), next to cockatiel's own circuitBreaker policy
 * and a bare await of the same async no-op, in one process, in alternating
 * rounds. The breaker's client has no coordinator here (its session retries
 * in the background, off the request path): admission reads only local state,
 * exactly as it does when attached.
 */
export const breakerAdmissionSuite: Suite = {
  name: "breaker-admission",
  title: "coordinated breaker admit+record vs cockatiel circuitBreaker vs a bare call (async no-op)",
  async run(settings) {
    // Never started: no session, the breaker answers from its local state (the request path measured).
    const client = createBreakerClient({
      transport: {
        replicas: () => ["none"],
        open() {
          throw new Error("no coordinator in this benchmark");
        },
      },
      instanceId: "bench",
      service: "bench",
      address: "bench",
      breakers: ["s3:bench"],
      config: parseBreakerConfigFile(""),
    });
    try {
      const breaker: CoordinatedBreaker = client.breaker("s3:bench");
      const cockatiel = circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) });
      const sides: Side[] = [
        {
          name: "cockatiel",
          call: () => cockatiel.execute(noop),
        },
        {
          name: "coordinated",
          call: async () => {
            const admission = breaker.admit();
            if (!admission.allowed) throw new Error("refused");
            await noop();
            breaker.record(true, 0, admission);
          },
        },
        { name: "bare", call: noop },
      ];
      const rounds = Math.max(2, settings.rounds);
      const totals = sides.map(() => ({ seconds: 0, cpu: 0, rates: [] as number[] }));
      for (const side of sides) for (let i = 0; i < 20_000; i++) await side.call(); // warm-up (JIT)
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? sides.map((_, i) => i) : sides.map((_, i) => sides.length - 1 - i);
        for (const i of order) {
          const side = sides[i]!;
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          for (let n = 0; n < callsPerRound; n++) await side.call();
          const seconds = (performance.now() - t0) / 1000;
          const cpu = process.cpuUsage(cpu0);
          totals[i]!.seconds += seconds;
          totals[i]!.cpu += (cpu.user + cpu.system) / 1e6;
          totals[i]!.rates.push(callsPerRound / seconds);
        }
        settings.log(`breaker-admission: round ${round + 1}/${rounds}`);
      }
      const measurements: Measurement[] = sides.map((side, i) => ({
        name: side.name,
        calls: callsPerRound * rounds,
        messages: callsPerRound * rounds,
        seconds: totals[i]!.seconds,
        clientCpuSeconds: totals[i]!.cpu,
        serverCpuSeconds: undefined,
        otherCpuSeconds: undefined,
        roundRates: totals[i]!.rates,
      }));
      for (const m of measurements)
        settings.log(`breaker-admission: ${m.name} ${((m.seconds * 1e9) / m.calls).toFixed(0)} ns/call`);
      const comparison: Comparison = { scenario: "async no-op call", baseline: "cockatiel", target: 1.0, measurements };
      return [comparison];
    } finally {
      client.close();
    }
  },
};
