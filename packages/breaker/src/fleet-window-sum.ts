/**
 * The fleet's window from parts: when several coordinator replicas each hold
 * the windows of their own sessions, whoever decides adds up the replicas'
 * summaries instead of every outcome being written to shared storage.
 */
import type { FleetWindowJSON } from "./fleet-window.js";
import type { SlidingWindowJSON } from "./sliding-window.js";

/**
 * Adds windows saved by `FleetWindow.toJSON`: buckets of the same start add
 * up, per instance and in total (an instance that moved between replicas is
 * counted once, with both parts). Buckets starting before `from` are left out
 * (the window was cleared then: a clean close or a reset).
 */
export function sumFleetWindows(parts: readonly FleetWindowJSON[], from = Number.NEGATIVE_INFINITY): FleetWindowJSON {
  const byInstance = new Map<string, SlidingWindowJSON[]>();
  for (const part of parts) {
    for (const [id, window] of Object.entries(part.instances)) {
      (byInstance.get(id) ?? byInstance.set(id, []).get(id)!).push(window);
    }
  }
  const instances: Record<string, SlidingWindowJSON> = {};
  for (const [id, windows] of byInstance) {
    const sum = sumWindows(windows, from);
    if (sum.buckets.length > 0 || sum.consecutiveFailures > 0) instances[id] = sum;
  }
  return {
    total: sumWindows(
      parts.map((p) => p.total),
      from,
    ),
    instances,
  };
}

/** An empty fleet window (what a breaker's shared record carries: outcomes live in the summaries). */
export const emptyFleetWindow: FleetWindowJSON = Object.freeze({
  total: Object.freeze({ buckets: [], consecutiveFailures: 0 }),
  instances: Object.freeze({}),
});

function sumWindows(windows: readonly SlidingWindowJSON[], from: number): SlidingWindowJSON {
  const byStart = new Map<number, [number, number, number, number]>();
  let run = 0;
  for (const w of windows) {
    // Runs add up: the failures each part saw since its last success, which is the fleet's run
    // when failures dominate (the order across parts is unknown).
    run += w.consecutiveFailures;
    for (const [start, ok, failed, slow] of w.buckets) {
      if (start < from) continue;
      const sum = byStart.get(start) ?? byStart.set(start, [start, 0, 0, 0]).get(start)!;
      sum[1] += ok;
      sum[2] += failed;
      sum[3] += slow;
    }
  }
  const buckets = [...byStart.values()].sort((a, b) => a[0] - b[0]);
  const failures = buckets.reduce((n, b) => n + b[2], 0);
  return { buckets, consecutiveFailures: Math.min(run, failures) };
}
