import { describe, expect, it } from "vitest";
import { LoadFailedError, runLoad } from "./load.js";

/** A clock that advances 1 ms each time it is read: the run ends after a known number of reads. */
function steppingClock(): () => number {
  let t = 0;
  return () => t++;
}

describe("runLoad", () => {
  it("keeps inFlight calls running and counts calls and messages", async () => {
    let inFlight = 0;
    let peak = 0;
    const r = await runLoad({
      inFlight: 4,
      durationMs: 40,
      now: steppingClock(),
      call: async () => {
        peak = Math.max(peak, ++inFlight);
        await Promise.resolve();
        inFlight--;
        return 3;
      },
    });
    expect(peak).toBe(4);
    expect(r.calls).toBeGreaterThan(4);
    // Every worker's messages count, not just the last to finish (`messages += await …` would lose them).
    expect(r.messages).toBe(r.calls * 3);
  });

  it("stops every worker at the first failure and says how many calls succeeded", async () => {
    let n = 0;
    const run = runLoad({
      inFlight: 8,
      durationMs: 1e9,
      call: async () => {
        if (++n === 20) throw new Error("UNAVAILABLE");
        return 1;
      },
    });
    await expect(run).rejects.toBeInstanceOf(LoadFailedError);
    await expect(run).rejects.toThrow(/UNAVAILABLE/);
  });
});
