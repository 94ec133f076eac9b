import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { cacheV1 } from "@breakwater/proto";
import { eventually } from "@breakwater/testkit";
import { createPeerInvalidations, type PeerInvalidation, type PeerInvalidationsOptions, type PeerSource } from "./peer-invalidations.js";

type Message = cacheV1.WatchInvalidationsResponse;

/** One call of a fake peer's WatchInvalidations: the test feeds it. */
interface FakeCall {
  send(message: Message): void;
  fail(error: Error): void;
  end(): void;
  readonly cancelled: boolean;
}

/** A peer whose every watch() is a FakeCall the test drives. */
function fakePeer(url: string): PeerSource & { readonly calls: FakeCall[] } {
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

const subscribed = (replicaId: string): Message =>
  create(cacheV1.WatchInvalidationsResponseSchema, { event: { case: "subscribed", value: { replicaId } } });
const invalidation = (key: string, prefix = false): Message =>
  create(cacheV1.WatchInvalidationsResponseSchema, {
    event: { case: "invalidation", value: { bucket: "b", key, prefix, cause: cacheV1.InvalidationCause.PUT, sequence: 1n } },
  });

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const until = (check: () => boolean): Promise<number> => eventually(check, { timeoutMs: 5_000, everyMs: 1 });

function setup(peers: PeerSource[], overrides: Partial<PeerInvalidationsOptions> = {}) {
  const applied: PeerInvalidation[] = [];
  const log: string[] = [];
  const sleeps: number[] = [];
  let resyncs = 0;
  const follower = createPeerInvalidations({
    peers,
    replicaId: "me",
    apply: (i) => applied.push(i),
    resync: () => {
      resyncs++;
      return 7;
    },
    backoff: { initialMs: 100, maxMs: 1_000 },
    random: () => 0.5,
    // Time does not pass in these tests: a retry's wait is recorded and ends at once.
    sleep: async (ms) => {
      sleeps.push(ms);
      await tick();
    },
    events: {
      onLive: (url, id, expired) => log.push(`live ${url} ${id} ${expired}`),
      onDown: (url, err, ms, first) => log.push(`down ${url} ${(err as Error).message} ${ms} ${first}`),
      onApplied: (url, i) => log.push(`applied ${url} ${i.key}`),
      onSelf: (url) => log.push(`self ${url}`),
    },
    ...overrides,
  });
  return { follower, applied, log, sleeps, resyncs: () => resyncs };
}

describe("peer invalidations", () => {
  it("applies every peer's invalidations as they come, and resyncs on each subscription", async () => {
    const a = fakePeer("http://a:1");
    const b = fakePeer("http://b:2");
    const { follower, applied, log, resyncs } = setup([a, b]);
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
    expect(log).toEqual(["live http://a:1 replica-a 7", "live http://b:2 replica-b 7", "applied http://a:1 k1", "applied http://b:2 dir/"]);
    await follower.stop();
  });

  it("resubscribes a broken stream with growing jittered delays, warns once per outage, and resyncs when back", async () => {
    const a = fakePeer("http://a:1");
    const { follower, log, sleeps, resyncs } = setup([a]);
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
      "down http://a:1 the peer ended its invalidation stream 300 false",
      "live http://a:1 replica-a2 7",
      "down http://a:1 again 75 true",
    ]);
    expect(resyncs()).toBe(2);
    await follower.stop();
  });

  it("does not follow this replica itself (a fleet-wide peer list), and leaves the call", async () => {
    const me = fakePeer("http://me:1");
    const { follower, log, resyncs } = setup([me]);
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
    const { follower, log, resyncs } = setup([a], {
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
    const { follower } = setup([open, retrying], {
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
