import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { cacheV1 } from "@breakwater/proto";
import {
  createInvalidationFollower,
  mayHaveMissed,
  sleepUnlessAborted,
  type InvalidatedKeys,
  type InvalidationFollowerOptions,
  type InvalidationSource,
} from "./invalidation-follower.js";

type Message = cacheV1.WatchInvalidationsResponse;

/** One call of a fake peer's WatchInvalidations: the test feeds it. */
interface FakeCall {
  send(message: Message): void;
  fail(error: Error): void;
  end(): void;
  readonly cancelled: boolean;
}

/** A peer whose every watch() is a FakeCall the test drives. */
function fakePeer(url: string): InvalidationSource & { readonly calls: FakeCall[] } {
  const calls: FakeCall[] = [];
  return {
    url,
    calls,
    watch(signal) {
      const queue: (Message | Error | "end")[] = [];
      let wake: (() => void) | undefined;
      let cancelled = false;
      const push = (item: Message | Error | "end"): void => {
        queue.push(item);
        wake?.();
      };
      calls.push({
        send: push,
        fail: push,
        end: () => push("end"),
        get cancelled() {
          return cancelled;
        },
      });
      signal.addEventListener("abort", () => push(new Error("CANCELLED")));
      return (async function* () {
        // True when the peer ended the call (end or error), not the caller.
        let endedByPeer = false;
        try {
          for (;;) {
            const item = queue.shift();
            if (item === undefined) await new Promise<void>((r) => (wake = r));
            else if (item === "end") {
              endedByPeer = true;
              return;
            } else if (item instanceof Error) {
              endedByPeer = !signal.aborted;
              throw item;
            } else yield item;
          }
        } finally {
          cancelled = !endedByPeer;
        }
      })();
    },
  };
}

const subscribed = (replicaId: string, lastSequence?: bigint): Message =>
  create(cacheV1.WatchInvalidationsResponseSchema, {
    event: { case: "subscribed", value: { replicaId, lastSequence } },
  });
const invalidation = (key: string, prefix = false, sequence = 1n): Message =>
  create(cacheV1.WatchInvalidationsResponseSchema, {
    event: {
      case: "invalidation",
      value: { bucket: "b", key, prefix, cause: cacheV1.InvalidationCause.PUT, sequence },
    },
  });

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) await tick();
  if (!check()) throw new Error("condition not reached");
}

/** A gateway following its upstreams: the near-cache serves only while every stream is live. */
function setup(count: number) {
  const sources = Array.from({ length: count }, (_, i) => fakePeer(`u${i}`));
  const got: InvalidatedKeys[] = [];
  const liveChanges: boolean[] = [];
  const sleeps: number[] = [];
  let releaseSleep: (() => void) | undefined;
  const sub = createInvalidationFollower({
    sources,
    onInvalidation: (_url, k) => got.push(k),
    onAllLiveChange: (l) => liveChanges.push(l),
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
  const latest = (i: number) => sources[i]!.calls.at(-1)!;
  return { sub, sources, latest, got, liveChanges, sleeps, release: () => releaseSleep?.() };
}

describe("invalidation follower: every stream live", () => {
  it("is live only once every source's stream said `subscribed`, and passes invalidations on", async () => {
    const t = setup(2);
    t.sub.start();
    await tick();
    t.latest(0).send(subscribed("r1"));
    await tick();
    expect(t.sub.live).toBe(false);
    expect(t.liveChanges).toEqual([]);
    t.latest(1).send(subscribed("r1"));
    await tick();
    expect(t.sub.live).toBe(true);
    expect(t.liveChanges).toEqual([true]);
    t.latest(1).send(invalidation("k"));
    t.latest(0).send(invalidation("p/", true));
    await tick();
    expect(t.got).toEqual([
      { bucket: "b", key: "k", prefix: false },
      { bucket: "b", key: "p/", prefix: true },
    ]);
    expect(t.sub.streams()).toEqual([
      { url: "u0", live: true, self: false },
      { url: "u1", live: true, self: false },
    ]);
    await t.sub.stop();
  });

  const offWhenBroken =
    "goes off at once when one stream breaks, resubscribes with growing backoff, " +
    "and is live again after `subscribed`";
  it(offWhenBroken, async () => {
    const t = setup(2);
    t.sub.start();
    await tick();
    t.latest(0).send(subscribed("r1"));
    t.latest(1).send(subscribed("r1"));
    await tick();
    t.latest(1).fail(new Error("broken"));
    await tick();
    expect(t.liveChanges).toEqual([true, false]);
    expect(t.sleeps).toEqual([75]); // attempt 0: 100 ms base, jitter 0.5
    t.release();
    await tick();
    expect(t.sources[1]!.calls).toHaveLength(2); // resubscribed
    t.latest(1).fail(new Error("refused"));
    await tick();
    expect(t.sleeps).toEqual([75, 150]); // attempt 1 doubles
    t.release();
    await tick();
    t.latest(1).send(subscribed("r2"));
    await tick();
    expect(t.liveChanges).toEqual([true, false, true]);
    // A clean subscription resets the backoff.
    t.latest(1).fail(new Error("broken"));
    await tick();
    expect(t.sleeps).toEqual([75, 150, 75]);
    await t.sub.stop();
  });

  it("a stream that ends without an error counts as broken too", async () => {
    const sources: InvalidationSource[] = [
      {
        url: "u",
        async *watch() {
          yield subscribed("r1");
        },
      },
    ];
    const changes: boolean[] = [];
    let sleeps = 0;
    const sub = createInvalidationFollower({
      sources,
      onInvalidation: () => undefined,
      onAllLiveChange: (l) => changes.push(l),
      backoff: { initialMs: 10, maxMs: 10 },
      sleep: async () => {
        sleeps++;
        if (sleeps > 2) await new Promise(() => undefined);
      },
    });
    sub.start();
    await until(() => changes.length >= 4);
    expect(changes.slice(0, 4)).toEqual([true, false, true, false]);
    void sub.stop();
  });

  it("stop ends every loop and opens nothing more", async () => {
    const t = setup(2);
    t.sub.start();
    await tick();
    t.latest(0).send(subscribed("r1"));
    await tick();
    await t.sub.stop();
    expect(t.sources.map((s) => s.calls.length)).toEqual([1, 1]);
    expect(t.sub.live).toBe(false);
  });
});

describe("invalidation follower: members that join and leave", () => {
  it("opens a stream to a source added at run time, and is live again once it said `subscribed`", async () => {
    const t = setup(1);
    t.sub.start();
    await tick();
    t.latest(0).send(subscribed("r1"));
    await until(() => t.sub.live);
    const joined = fakePeer("u9");
    t.sub.setSources([t.sources[0]!, joined]);
    // A new member's writes would be missed until its stream is live: not live meanwhile.
    expect(t.sub.live).toBe(false);
    expect(t.liveChanges).toEqual([true, false]);
    await until(() => joined.calls.length === 1);
    expect(t.sources[0]!.calls).toHaveLength(1); // the kept source's stream stays open
    joined.calls[0]!.send(subscribed("r9"));
    joined.calls[0]!.send(invalidation("new"));
    await until(() => t.sub.live);
    expect(t.got).toEqual([{ bucket: "b", key: "new", prefix: false }]);
    expect(t.sub.streams().map((s) => s.url)).toEqual(["u0", "u9"]);
    await t.sub.stop();
    expect(joined.calls[0]!.cancelled).toBe(true);
  });

  it("closes a removed source's stream, and the rest decide whether every stream is live", async () => {
    const t = setup(2);
    t.sub.start();
    await tick();
    t.latest(0).send(subscribed("r1"));
    await tick();
    expect(t.sub.live).toBe(false); // u1 never subscribed
    t.sub.setSources([t.sources[0]!]);
    expect(t.sub.live).toBe(true);
    await until(() => t.latest(1).cancelled);
    expect(t.sources[1]!.calls).toHaveLength(1); // not reopened
    expect(t.sub.streams()).toEqual([{ url: "u0", live: true, self: false }]);
    await t.sub.stop();
  });

  it("opens added sources only once started, and none after stop", async () => {
    const t = setup(1);
    const early = fakePeer("early");
    t.sub.setSources([t.sources[0]!, early]);
    await tick();
    expect(early.calls).toHaveLength(0);
    t.sub.start();
    await until(() => early.calls.length === 1);
    await t.sub.stop();
    const late = fakePeer("late");
    t.sub.setSources([late]);
    await tick();
    expect(late.calls).toHaveLength(0);
  });
});

describe("mayHaveMissed: when a stream going live needs a resync", () => {
  const first = { neverDown: true, heard: undefined };
  it.each([
    ["a replica that predates last_sequence", { replicaId: "r" }, first, true],
    [
      "a first stream, opened at once, to a replica that published nothing",
      { replicaId: "r", lastSequence: 0n },
      first,
      false,
    ],
    ["a first stream to a replica that published already", { replicaId: "r", lastSequence: 3n }, first, true],
    [
      "a first stream after failed attempts (another incarnation may have published)",
      { replicaId: "r", lastSequence: 0n },
      { neverDown: false, heard: undefined },
      true,
    ],
    [
      "the same replica, every invalidation applied",
      { replicaId: "r", lastSequence: 7n },
      { neverDown: false, heard: { replicaId: "r", sequence: 7n } },
      false,
    ],
    [
      "the same replica, which published while the stream was down",
      { replicaId: "r", lastSequence: 8n },
      { neverDown: false, heard: { replicaId: "r", sequence: 7n } },
      true,
    ],
    [
      "a restarted replica (another id), even with nothing published",
      { replicaId: "r2", lastSequence: 0n },
      { neverDown: false, heard: { replicaId: "r", sequence: 0n } },
      true,
    ],
  ])("%s: %s", (_what, sub, before, expected) => {
    expect(mayHaveMissed(sub, before)).toBe(expected);
  });

  it("the follower tells onLive, tracking what it applied across streams", async () => {
    const a = fakePeer("http://a:1");
    const flags: boolean[] = [];
    const follower = createInvalidationFollower({
      sources: [a],
      onInvalidation: () => undefined,
      onLive: (_url, _id, missed) => flags.push(missed),
      backoff: { initialMs: 1, maxMs: 1 },
      sleep: () => tick(),
    });
    follower.start();
    await until(() => a.calls.length === 1);
    a.calls[0]!.send(subscribed("r", 0n)); // joined, nothing published
    a.calls[0]!.send(invalidation("k1", false, 1n));
    a.calls[0]!.send(invalidation("k2", false, 2n));
    a.calls[0]!.fail(new Error("blip"));
    await until(() => a.calls.length === 2);
    a.calls[1]!.send(subscribed("r", 2n)); // nothing written meanwhile
    a.calls[1]!.fail(new Error("blip"));
    await until(() => a.calls.length === 3);
    a.calls[2]!.send(subscribed("r", 3n)); // one write while down
    a.calls[2]!.fail(new Error("restart"));
    await until(() => a.calls.length === 4);
    a.calls[3]!.send(subscribed("r-new", 0n));
    await until(() => flags.length === 4);
    expect(flags).toEqual([false, false, true, true]);
    await follower.stop();
  });
});

/** A replica following its peers, as the cache-store does: resync on each subscription, skip itself. */
function peerSetup(
  peers: InvalidationSource[],
  overrides: Partial<InvalidationFollowerOptions> & { apply?: () => void } = {},
) {
  const applied: InvalidatedKeys[] = [];
  const log: string[] = [];
  const sleeps: number[] = [];
  let resyncs = 0;
  const apply = overrides.apply ?? ((i: InvalidatedKeys) => void applied.push(i));
  const follower = createInvalidationFollower({
    sources: peers,
    selfReplicaId: "me",
    onInvalidation: (url, i) => {
      apply(i);
      log.push(`applied ${url} ${i.key}`);
    },
    onLive: (url, id) => {
      resyncs++;
      log.push(`live ${url} ${id} 7`);
    },
    onDown: (url, err, ms, first) => log.push(`down ${url} ${(err as Error).message} ${ms} ${first}`),
    onSelf: (url) => log.push(`self ${url}`),
    backoff: { initialMs: 100, maxMs: 1_000 },
    random: () => 0.5,
    // Time does not pass in these tests: a retry's wait is recorded and ends at once.
    sleep: async (ms) => {
      sleeps.push(ms);
      await tick();
    },
    ...overrides,
  });
  return { follower, applied, log, sleeps, resyncs: () => resyncs };
}

describe("invalidation follower: a replica following its peers", () => {
  it("applies every peer's invalidations as they come, and resyncs on each subscription", async () => {
    const a = fakePeer("http://a:1");
    const b = fakePeer("http://b:2");
    const { follower, applied, log, resyncs } = peerSetup([a, b]);
    expect(a.calls).toHaveLength(0); // nothing opens before start()
    follower.start();
    follower.start(); // once
    await until(() => a.calls.length === 1 && b.calls.length === 1);
    a.calls[0]!.send(subscribed("replica-a"));
    b.calls[0]!.send(subscribed("replica-b"));
    await until(() => follower.streams().every((s) => s.live));
    a.calls[0]!.send(invalidation("k1"));
    b.calls[0]!.send(invalidation("dir/", true));
    await until(() => applied.length === 2);
    expect(applied).toEqual([
      { bucket: "b", key: "k1", prefix: false },
      { bucket: "b", key: "dir/", prefix: true },
    ]);
    expect(resyncs()).toBe(2);
    expect(log).toEqual([
      "live http://a:1 replica-a 7",
      "live http://b:2 replica-b 7",
      "applied http://a:1 k1",
      "applied http://b:2 dir/",
    ]);
    await follower.stop();
  });

  const jitteredResubscribe =
    "resubscribes a broken stream with growing jittered delays, " + "warns once per outage, and resyncs when back";
  it(jitteredResubscribe, async () => {
    const a = fakePeer("http://a:1");
    const { follower, log, sleeps, resyncs } = peerSetup([a]);
    follower.start();
    await until(() => a.calls.length === 1);
    a.calls[0]!.send(subscribed("replica-a"));
    await until(() => follower.streams()[0]!.live);
    a.calls[0]!.fail(new Error("UNAVAILABLE"));
    await until(() => a.calls.length === 2);
    expect(follower.streams()[0]!.live).toBe(false);
    expect(a.calls[0]!.cancelled).toBe(false);
    a.calls[1]!.fail(new Error("refused"));
    await until(() => a.calls.length === 3);
    a.calls[2]!.end(); // a peer shutting down ends the stream normally: also a break
    await until(() => a.calls.length === 4);
    a.calls[3]!.send(subscribed("replica-a2"));
    await until(() => follower.streams()[0]!.live);
    a.calls[3]!.fail(new Error("again"));
    await until(() => a.calls.length === 5);
    // equal jitter at random 0.5: 3/4 of 100, 200, 400; then from the start again after being live.
    expect(sleeps).toEqual([75, 150, 300, 75]);
    expect(log).toEqual([
      "live http://a:1 replica-a 7",
      "down http://a:1 UNAVAILABLE 75 true",
      "down http://a:1 refused 150 false",
      "down http://a:1 the cache-store ended its invalidation stream 300 false",
      "live http://a:1 replica-a2 7",
      "down http://a:1 again 75 true",
    ]);
    expect(resyncs()).toBe(2);
    await follower.stop();
  });

  it("counts every other stream live while one source is this replica itself", async () => {
    const me = fakePeer("http://me:1");
    const a = fakePeer("http://a:1");
    const changes: boolean[] = [];
    const { follower } = peerSetup([me, a], { onAllLiveChange: (l) => changes.push(l) });
    follower.start();
    await until(() => me.calls.length === 1 && a.calls.length === 1);
    me.calls[0]!.send(subscribed("me"));
    a.calls[0]!.send(subscribed("replica-a"));
    await until(() => follower.live);
    expect(changes).toEqual([true]);
    await follower.stop();
  });

  it("does not follow this replica itself (a fleet-wide peer list), and leaves the call", async () => {
    const me = fakePeer("http://me:1");
    const { follower, log, resyncs } = peerSetup([me]);
    follower.start();
    await until(() => me.calls.length === 1);
    me.calls[0]!.send(subscribed("me"));
    await until(() => follower.streams()[0]!.self);
    await tick();
    expect(me.calls).toHaveLength(1);
    expect(me.calls[0]!.cancelled).toBe(true);
    expect(resyncs()).toBe(0);
    expect(log).toEqual(["self http://me:1"]);
    await follower.stop();
  });

  it("drops the stream when applying fails, so that the resubscription resyncs", async () => {
    const a = fakePeer("http://a:1");
    const { follower, log, resyncs } = peerSetup([a], {
      apply: () => {
        throw new Error("bad invalidation");
      },
    });
    follower.start();
    await until(() => a.calls.length === 1);
    a.calls[0]!.send(subscribed("replica-a"));
    a.calls[0]!.send(invalidation("k"));
    await until(() => a.calls.length === 2);
    expect(a.calls[0]!.cancelled).toBe(true);
    a.calls[1]!.send(subscribed("replica-a"));
    await until(() => resyncs() === 2);
    expect(log.slice(0, 2)).toEqual(["live http://a:1 replica-a 7", "down http://a:1 bad invalidation 75 true"]);
    await follower.stop();
  });

  it("stop() cancels open streams and pending retries, and nothing reopens", async () => {
    const open = fakePeer("http://open:1");
    const retrying = fakePeer("http://retrying:2");
    let retryWait: AbortSignal | undefined;
    const { follower } = peerSetup([open, retrying], {
      // This retry would wait for ever unless aborted.
      sleep: (_ms, signal) => {
        retryWait = signal;
        return new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      },
    });
    follower.start();
    await until(() => open.calls.length === 1 && retrying.calls.length === 1);
    open.calls[0]!.send(subscribed("o"));
    retrying.calls[0]!.fail(new Error("refused"));
    await until(() => retryWait !== undefined);
    await follower.stop();
    expect(open.calls[0]!.cancelled).toBe(true);
    expect(follower.streams().map((s) => s.live)).toEqual([false, false]);
    await tick();
    expect([open.calls.length, retrying.calls.length]).toEqual([1, 1]);
  });
});

describe("sleepUnlessAborted", () => {
  it("ends at once when the signal aborts, and at once when it already had", async () => {
    const controller = new AbortController();
    const started = performance.now();
    const sleeping = sleepUnlessAborted(60_000, controller.signal);
    controller.abort();
    await sleeping;
    await sleepUnlessAborted(60_000, controller.signal);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
