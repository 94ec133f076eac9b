import { Code, ConnectError } from "@connectrpc/connect";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "@breakwater/testkit";
import { connectivityState } from "@grpc/grpc-js";
import { createOwnerOrder } from "@breakwater/cache";
import type { Admission, BreakerClient, CoordinatedBreaker } from "@breakwater/breaker/session";
import { createReplicaPool, isUpstreamFailure, noUpstreamError, type ReplicaPool } from "./replica-pool.js";

/** Nothing listens there: channels connect lazily, so the pool never dials them in these tests. */
const URLS = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"];
const NAMES = ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"];

/** Breakers the test opens and closes by name, counting admissions. */
function fakeBreakers(): BreakerClient & { open: Set<string>; admitted: string[] } {
  const open = new Set<string>();
  const admitted: string[] = [];
  return {
    open,
    admitted,
    breaker(name: string) {
      return {
        name,
        admit(): Admission {
          if (open.has(name)) return { kind: "refused", allowed: false, state: "open", retryAfterMs: 700 };
          admitted.push(name);
          return { kind: "allowed", allowed: true };
        },
        record() {},
        state: () => (open.has(name) ? "open" : "closed"),
      } as unknown as CoordinatedBreaker;
    },
  } as unknown as BreakerClient & { open: Set<string>; admitted: string[] };
}

const channelState = (pool: ReplicaPool, name: string): connectivityState | undefined =>
  pool.all
    .find((r) => r.name === name)
    ?.cache.channel.getChannel()
    .getConnectivityState(false);

describe("createReplicaPool", () => {
  let pool: ReplicaPool | undefined;
  afterEach(() => {
    pool?.close();
    pool = undefined;
  });

  it("names members by gRPC address and orders each key's replicas as createOwnerOrder does", () => {
    pool = createReplicaPool(URLS);
    expect(pool.all.map((r) => r.name)).toEqual(NAMES);
    const ownership = createOwnerOrder(NAMES);
    for (let i = 0; i < 50; i++) {
      const order = [...pool.order("b", `k${i}`)];
      expect(order.map((r) => r.name)).toEqual(ownership.order("b", `k${i}`));
      expect(order.map((r) => r.owner)).toEqual([true, false, false]);
    }
  });

  it("round robin: pick() cycles through the members", () => {
    pool = createReplicaPool(URLS);
    expect([1, 2, 3, 4].map(() => pool!.pick().name)).toEqual([...NAMES, NAMES[0]]);
  });

  it("skips a member whose breaker refuses, and asks a breaker only when its replica is taken", () => {
    const breakers = fakeBreakers();
    pool = createReplicaPool(URLS, { breakers });
    const [owner, second, third] = pool.ownership.order("b", "k");
    const firstOnly = pool.order("b", "k")[Symbol.iterator]().next();
    expect(firstOnly.value?.name).toBe(owner);
    expect(breakers.admitted).toEqual([`cache-store:${owner}`]);
    breakers.open.add(`cache-store:${owner}`);
    const order = [...pool.order("b", "k")];
    expect(order.map((r) => [r.name, r.owner])).toEqual([
      [second, false],
      [third, false],
    ]);
  });

  it("throws UNAVAILABLE with retry-after-ms when every breaker refuses", () => {
    const breakers = fakeBreakers();
    pool = createReplicaPool(URLS, { breakers });
    for (const name of NAMES) breakers.open.add(`cache-store:${name}`);
    const refused = (f: () => unknown): ConnectError => {
      try {
        f();
      } catch (err) {
        return err as ConnectError;
      }
      throw new Error("did not throw");
    };
    for (const err of [refused(() => [...pool!.order("b", "k")]), refused(() => pool!.pick())]) {
      expect(err.code).toBe(Code.Unavailable);
      expect(err.metadata.get("retry-after-ms")).toBe("700");
    }
  });

  it("setMembers: keeps the channels of members that stay, closes removed ones, recomputes ownership", () => {
    pool = createReplicaPool(URLS);
    const kept = pool.all[1]!.cache;
    const removed = pool.all[0]!.cache;
    pool.setMembers([URLS[1]!, URLS[2]!, "http://127.0.0.1:4"]);
    expect(pool.all.map((r) => r.name)).toEqual([NAMES[1], NAMES[2], "127.0.0.1:4"]);
    expect(pool.all[0]!.cache).toBe(kept);
    expect(removed.channel.getChannel().getConnectivityState(false)).toBe(connectivityState.SHUTDOWN);
    expect(channelState(pool, NAMES[1]!)).not.toBe(connectivityState.SHUTDOWN);
    expect(pool.ownership.members).toEqual([NAMES[1], NAMES[2], "127.0.0.1:4"]);
    for (let i = 0; i < 50; i++) expect([...pool.order("b", `k${i}`)].map((r) => r.name)).not.toContain(NAMES[0]);
  });

  it("setMembers: a removed member's channel closes only once its call in flight has ended", async () => {
    // A server that accepts and never speaks: a call to it stays in flight until cancelled.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      pool = createReplicaPool([url, URLS[1]!]);
      const member = pool.all[0]!;
      const state = (): connectivityState => member.cache.channel.getChannel().getConnectivityState(false);
      const aborter = new AbortController();
      const call = member.cache.headObject({ bucket: "b", key: "k" }, { signal: aborter.signal }).catch(() => "ended");
      await eventually(() => sockets.length > 0, { what: "the call's connection" });
      pool.setMembers([URLS[1]!]);
      expect(state()).not.toBe(connectivityState.SHUTDOWN);
      aborter.abort();
      expect(await call).toBe("ended");
      expect(state()).toBe(connectivityState.SHUTDOWN);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("isUpstreamFailure", () => {
  it("counts transport errors and the cache-store's own failure codes", () => {
    expect(isUpstreamFailure(new Error("socket hang up"))).toBe(true);
    for (const code of [Code.Unavailable, Code.Internal, Code.Unknown, Code.DeadlineExceeded, Code.DataLoss]) {
      expect(isUpstreamFailure(new ConnectError("x", code))).toBe(true);
    }
  });

  it("does not count answers: NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE", () => {
    for (const code of [
      Code.NotFound,
      Code.InvalidArgument,
      Code.FailedPrecondition,
      Code.OutOfRange,
      Code.ResourceExhausted,
    ]) {
      expect(isUpstreamFailure(new ConnectError("x", code))).toBe(false);
    }
  });

  it("does not count a cache-store's 'storage is unavailable' (UNAVAILABLE with retry-after-ms): the cache-store answered", () => {
    const storageDown = new ConnectError(
      "storage is unavailable",
      Code.Unavailable,
      new Headers({ "retry-after-ms": "1000" }),
    );
    expect(isUpstreamFailure(storageDown)).toBe(false);
    expect(isUpstreamFailure(noUpstreamError(250))).toBe(false);
  });
});
