import { afterEach, describe, expect, it, vi } from "vitest";
import type { cacheV1 } from "@breakwater/proto";
import type { GrpcClient } from "@breakwater/server-kit";
import { startPacedReads } from "./paced-reads.js";

type Client = GrpcClient<typeof cacheV1.CacheService>;

/**
 * A CacheService whose GetObject answers by key: "nf…" NOT_FOUND, "un…" UNAVAILABLE, "ok…" one message, "hang…" never.
 */
function fakeClient(keys: string[]): Client {
  const fail = (code: number) => Object.assign(new Error(`code ${code}`), { code });
  return {
    getObject: ({ key }: { key: string }) => ({
      async *[Symbol.asyncIterator]() {
        keys.push(key);
        await Promise.resolve();
        if (key.startsWith("nf")) throw fail(5);
        if (key.startsWith("un")) throw fail(14);
        if (key.startsWith("hang")) await new Promise(() => undefined);
        if (key.startsWith("bad")) throw fail(13);
        yield {};
      },
    }),
  } as unknown as Client;
}

describe("paced reads", () => {
  afterEach(() => vi.useRealTimers());

  it("starts reads at the rate, fresh keys, and tallies the answers by code", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const keys: string[] = [];
    const kinds = ["nf", "un", "ok", "bad"];
    const reads = startPacedReads({ client: fakeClient(keys), ratePerSecond: 100, key: (n) => `${kinds[n % 4]}-${n}` });
    await vi.advanceTimersByTimeAsync(195); // ticks at 0, 10, …, 190 ms
    await reads.stop();
    expect(keys).toHaveLength(20);
    expect(new Set(keys).size).toBe(20);
    expect(reads.tally).toEqual({ started: 20, notFound: 5, unavailable: 5, found: 5, failed: 5, skipped: 0 });
  });

  it("skips a tick rather than exceed the reads in flight", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const reads = startPacedReads({
      client: fakeClient([]),
      ratePerSecond: 100,
      key: (n) => `hang-${n}`,
      maxInFlight: 3,
    });
    await vi.advanceTimersByTimeAsync(95);
    expect(reads.tally).toMatchObject({ started: 3, skipped: 7 });
  });

  it("rejects a rate that is not positive", () => {
    expect(() => startPacedReads({ client: fakeClient([]), ratePerSecond: 0, key: String })).toThrow(RangeError);
  });
});
