import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { cacheV1 } from "@breakwater/proto";
import { createInvalidationSubscriber, type InvalidatedKeys, type InvalidationSource } from "./invalidation-subscriber.js";

type Msg = cacheV1.WatchInvalidationsResponse;
const subscribed = (replicaId = "r1"): Msg =>
  create(cacheV1.WatchInvalidationsResponseSchema, { event: { case: "subscribed", value: { replicaId } } });
const invalidation = (key: string, prefix = false): Msg =>
  create(cacheV1.WatchInvalidationsResponseSchema, { event: { case: "invalidation", value: { bucket: "b", key, prefix } } });

/** A stream the test feeds by hand; `fail` breaks it. */
function manualStream() {
  const queue: (Msg | Error)[] = [];
  let wake: (() => void) | undefined;
  const push = (m: Msg | Error): void => {
    queue.push(m);
    wake?.();
  };
  async function* iterate(signal: AbortSignal): AsyncIterable<Msg> {
    signal.addEventListener("abort", () => wake?.(), { once: true });
    for (;;) {
      if (signal.aborted) throw new Error("cancelled");
      const next = queue.shift();
      if (next instanceof Error) throw next;
      if (next !== undefined) yield next;
      else await new Promise<void>((r) => (wake = r));
    }
  }
  return { push, fail: (why = "broken") => push(new Error(why)), iterate };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(count: number) {
  const streams: ReturnType<typeof manualStream>[][] = Array.from({ length: count }, () => []);
  const sources: InvalidationSource[] = streams.map((opened, i) => ({
    url: `u${i}`,
    watch(signal) {
      const s = manualStream();
      opened.push(s);
      return s.iterate(signal);
    },
  }));
  const got: InvalidatedKeys[] = [];
  const liveChanges: boolean[] = [];
  const sleeps: number[] = [];
  let releaseSleep: (() => void) | undefined;
  const sub = createInvalidationSubscriber({
    sources,
    onInvalidation: (k) => got.push(k),
    onLiveChange: (l) => liveChanges.push(l),
    backoff: { initialMs: 100, maxMs: 1_000 },
    random: () => 0.5,
    // No real time passes: the test releases each backoff wait itself.
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        sleeps.push(ms);
        releaseSleep = resolve;
        signal.addEventListener("abort", () => resolve(), { once: true });
      }),
  });
  const latest = (i: number) => streams[i]![streams[i]!.length - 1]!;
  return { sub, streams, latest, got, liveChanges, sleeps, release: () => releaseSleep?.() };
}

describe("invalidation subscriber", () => {
  it("is live only once every upstream's stream said `subscribed`, and passes invalidations on", async () => {
    const t = setup(2);
    t.sub.start();
    await tick();
    t.latest(0).push(subscribed());
    await tick();
    expect(t.sub.live).toBe(false);
    expect(t.liveChanges).toEqual([]);
    t.latest(1).push(subscribed());
    await tick();
    expect(t.sub.live).toBe(true);
    expect(t.liveChanges).toEqual([true]);
    t.latest(1).push(invalidation("k"));
    t.latest(0).push(invalidation("p/", true));
    await tick();
    expect(t.got).toEqual([
      { bucket: "b", key: "k", prefix: false },
      { bucket: "b", key: "p/", prefix: true },
    ]);
    expect(t.sub.streams()).toEqual([
      { url: "u0", live: true },
      { url: "u1", live: true },
    ]);
    await t.sub.stop();
  });

  it("goes off at once when one stream breaks, resubscribes with growing backoff, and is live again after `subscribed`", async () => {
    const t = setup(2);
    t.sub.start();
    await tick();
    t.latest(0).push(subscribed());
    t.latest(1).push(subscribed());
    await tick();
    t.latest(1).fail();
    await tick();
    expect(t.liveChanges).toEqual([true, false]);
    expect(t.sleeps).toEqual([75]); // attempt 0: 100 ms base, jitter 0.5
    t.release();
    await tick();
    expect(t.streams[1]).toHaveLength(2); // resubscribed
    t.latest(1).fail("refused");
    await tick();
    expect(t.sleeps).toEqual([75, 150]); // attempt 1 doubles
    t.release();
    await tick();
    t.latest(1).push(subscribed("r2"));
    await tick();
    expect(t.liveChanges).toEqual([true, false, true]);
    // A clean subscription resets the backoff.
    t.latest(1).fail();
    await tick();
    expect(t.sleeps).toEqual([75, 150, 75]);
    await t.sub.stop();
  });

  it("a stream that ends without an error counts as broken too", async () => {
    const sources: InvalidationSource[] = [
      {
        url: "u",
        async *watch() {
          yield subscribed();
        },
      },
    ];
    const changes: boolean[] = [];
    let sleeps = 0;
    const sub = createInvalidationSubscriber({
      sources,
      onInvalidation: () => undefined,
      onLiveChange: (l) => changes.push(l),
      backoff: { initialMs: 10, maxMs: 10 },
      sleep: async () => {
        sleeps++;
        if (sleeps > 2) await new Promise(() => undefined);
      },
    });
    sub.start();
    for (let i = 0; i < 10; i++) await tick();
    expect(changes.slice(0, 4)).toEqual([true, false, true, false]);
    void sub.stop();
  });

  it("stop ends every loop and opens nothing more", async () => {
    const t = setup(2);
    t.sub.start();
    await tick();
    t.latest(0).push(subscribed());
    await tick();
    await t.sub.stop();
    expect(t.streams.map((s) => s.length)).toEqual([1, 1]);
    expect(t.sub.live).toBe(false);
  });
});
