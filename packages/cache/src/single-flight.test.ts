import { describe, expect, it } from "vitest";
import { CacheError, isCacheError } from "./errors.js";
import { createSingleFlight } from "./single-flight.js";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("single flight", () => {
  it("runs one load for 1000 concurrent callers; one leads, the rest coalesce", async () => {
    const flights = createSingleFlight<string>();
    let calls = 0;
    const gate = deferred<string>();
    const load = () => {
      calls++;
      return gate.promise;
    };
    const all = Array.from({ length: 1000 }, () => flights.run("k", load));
    gate.resolve("v");
    const results = await Promise.all(all);
    expect(calls).toBe(1);
    expect(results.every((r) => r.value === "v")).toBe(true);
    expect(results.filter((r) => r.leader)).toHaveLength(1);
    expect(results[0]!.leader).toBe(true);
  });

  it("keeps keys apart", async () => {
    const flights = createSingleFlight<string>();
    const [a, b] = await Promise.all([flights.run("a", async () => "A"), flights.run("b", async () => "B")]);
    expect([a.value, b.value, a.leader, b.leader]).toEqual(["A", "B", true, true]);
  });

  it("fails every waiter with the leader's error and caches no error", async () => {
    const flights = createSingleFlight<string>();
    const boom = new CacheError("unavailable", "down");
    let calls = 0;
    const failing = async () => {
      calls++;
      await Promise.resolve();
      throw boom;
    };
    const results = await Promise.allSettled([flights.run("k", failing), flights.run("k", failing)]);
    expect(results).toEqual([
      { status: "rejected", reason: boom },
      { status: "rejected", reason: boom },
    ]);
    expect(calls).toBe(1);
    expect((await flights.run("k", async () => "ok")).value).toBe("ok");
    expect([...flights.keys()]).toEqual([]);
  });

  it("treats a synchronous throw like a rejection", async () => {
    const flights = createSingleFlight<string>();
    await expect(
      flights.run("k", () => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
  });

  it("lets a cancelled waiter go without cancelling the load for the others", async () => {
    const flights = createSingleFlight<string>();
    const gate = deferred<string>();
    let loadSignal: AbortSignal | undefined;
    const ac = new AbortController();
    const first = flights.run(
      "k",
      (s) => {
        loadSignal = s;
        return gate.promise;
      },
      ac.signal,
    );
    const second = flights.run("k", () => gate.promise);
    ac.abort(new Error("client went away"));
    await expect(first).rejects.toSatisfy((e) => isCacheError(e, "cancelled"));
    expect(loadSignal!.aborted).toBe(false);
    gate.resolve("v");
    // The remaining waiter now leads: it owns the value.
    expect(await second).toEqual({ value: "v", leader: true });
  });

  it("aborts the load once nobody waits, frees the key, and hands an orphaned value back", async () => {
    const orphans: string[] = [];
    const flights = createSingleFlight<string>({ onOrphan: (v, k) => orphans.push(`${k}=${v}`) });
    const gate = deferred<string>();
    let loadSignal: AbortSignal | undefined;
    const ac = new AbortController();
    const p = flights.run(
      "k",
      (s) => {
        loadSignal = s;
        return gate.promise;
      },
      ac.signal,
    );
    ac.abort();
    await expect(p).rejects.toSatisfy((e) => isCacheError(e, "cancelled"));
    expect(loadSignal!.aborted).toBe(true);
    expect([...flights.keys()]).toEqual([]);
    // A newcomer starts afresh.
    expect(await flights.run("k", async () => "new")).toEqual({ value: "new", leader: true });
    // The aborted load resolving anyway is handed back, not lost.
    gate.resolve("late");
    await Promise.resolve();
    await Promise.resolve();
    expect(orphans).toEqual(["k=late"]);
  });

  it("refuses an already aborted caller without starting a load", async () => {
    const flights = createSingleFlight<string>();
    let calls = 0;
    await expect(
      flights.run(
        "k",
        async () => {
          calls++;
          return "v";
        },
        AbortSignal.abort(),
      ),
    ).rejects.toSatisfy((e) => isCacheError(e, "cancelled"));
    expect(calls).toBe(0);
  });

  it("forget detaches a load: its waiters finish, newcomers start another", async () => {
    const flights = createSingleFlight<string>();
    const old = deferred<string>();
    const before = flights.run("k", () => old.promise);
    flights.forget("k");
    const after = flights.run("k", async () => "new");
    old.resolve("old");
    expect((await before).value).toBe("old");
    expect(await after).toEqual({ value: "new", leader: true });
  });
});
