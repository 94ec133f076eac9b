import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { eventually, promSample } from "@breakwater/testkit";
import { startStack, type Stack } from "./__fixtures__/stack.js";

/**
 * One gateway over three cache-store replicas, first not each other's peers:
 * reads go round robin (GATEWAY_ROUTING=round-robin; owner routing would
 * leave one copy), so every replica holds its own copy of a key. A write
 * through the gateway must never be followed by an older body from it.
 */
describe("read-your-writes through a gateway with three cache-store upstreams", () => {
  let stack: Stack;

  beforeAll(async () => {
    // Near-cache off: every read reaches a replica.
    stack = await startStack({
      cacheStores: 3,
      gatewayEnv: { GATEWAY_CACHE_MAX_BYTES: "0", GATEWAY_ROUTING: "round-robin" },
      // Every replica keeps what it is asked for, as it counts below.
      cacheStoreEnv: { CACHE_STORE_FORWARDING: "false" },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const read = async (key: string): Promise<string> => (await fetch(`${stack.base}/${key}`)).text();

  const noOlderRead =
    "over 100 writes, each with every replica holding the previous body, " +
    "no read after the write answers an older one";
  it(noOlderRead, async () => {
    const key = "ryw/k.txt";
    expect((await fetch(`${stack.base}/${key}`, { method: "PUT", body: "v0" })).status).toBe(200);
    for (let i = 1; i <= 100; i++) {
      // Three reads: round robin puts the previous body in every replica.
      for (let r = 0; r < 3; r++) expect(await read(key)).toBe(`v${i - 1}`);
      expect((await fetch(`${stack.base}/${key}`, { method: "PUT", body: `v${i}` })).status).toBe(200);
      for (let r = 0; r < 3; r++) expect(await read(key)).toBe(`v${i}`);
    }
  });

  it("a DELETE is followed by 404 from every replica", async () => {
    const key = "ryw/gone.txt";
    await fetch(`${stack.base}/${key}`, { method: "PUT", body: "here" });
    for (let r = 0; r < 3; r++) expect(await read(key)).toBe("here");
    expect((await fetch(`${stack.base}/${key}`, { method: "DELETE" })).status).toBe(204);
    for (let r = 0; r < 3; r++) expect((await fetch(`${stack.base}/${key}`)).status).toBe(404);
  });
});

describe("… and with the replicas following each other's invalidations (CACHE_STORE_PEERS)", () => {
  let stack: Stack;
  let clients: GrpcClient<typeof cacheV1.CacheService>[] = [];

  /** One sample per replica and peer (the peer's URL as in CACHE_STORE_PEERS), over every replica. */
  const perPeer = async (name: string): Promise<number[]> => {
    const peerUrl = (i: number): string => `http://127.0.0.1:${stack.cacheStores[i]!.grpcPort}`;
    const texts = await Promise.all(stack.cacheStores.map(async (c) => (await fetch(`${c.httpUrl}/metrics`)).text()));
    return texts.flatMap((text, i) =>
      stack.cacheStores.flatMap((_, j) =>
        j === i ? [] : [promSample(text, name, { peer: peerUrl(j) }) ?? Number.NaN],
      ),
    );
  };

  beforeAll(async () => {
    stack = await startStack({
      cacheStores: 3,
      peers: true,
      gatewayEnv: { GATEWAY_CACHE_MAX_BYTES: "0", GATEWAY_ROUTING: "round-robin" },
      // Every replica keeps what it is asked for, as it counts below.
      cacheStoreEnv: { CACHE_STORE_FORWARDING: "false" },
    });
    clients = stack.cacheStores.map((c) => createGrpcClient(cacheV1.CacheService, c.grpcAddress));
    // Every peer stream live first: each (re)subscription marks the replica's entries for revalidation.
    await eventually(async () => (await perPeer("cache_peer_invalidation_stream_live")).every((v) => v === 1), {
      what: "all 6 peer streams live",
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await stack?.stop();
  });

  /** Invalidations the replicas applied from their peers, all added up. */
  const peerInvalidationsApplied = async (): Promise<number> =>
    (await perPeer("cache_peer_invalidations_applied_total")).reduce((a, b) => a + b, 0);

  const dropsAreLocal =
    "the gateway's drops elsewhere are local: " +
    "the writer keeps the copy it wrote through (one hit in the three reads after each write)";
  it(dropsAreLocal, async () => {
    const key = "ryw/peers.txt";
    await fetch(`${stack.base}/${key}`, { method: "PUT", body: "v0" });
    for (let i = 1; i <= 30; i++) {
      for (let r = 0; r < 3; r++) await (await fetch(`${stack.base}/${key}`)).text();
      const appliedBefore = await peerInvalidationsApplied();
      expect((await fetch(`${stack.base}/${key}`, { method: "PUT", body: `v${i}` })).status).toBe(200);
      // A barrier instead of a wait: each replica publishes a marker purge, and every peer stream is
      // ordered, so once all six markers are applied whatever was published before them is too.
      // Applied by then: the write's invalidation (by the 2 other replicas) and the 6 markers, and
      // nothing else — the gateway's drops on the other replicas are local, not published.
      await Promise.all(clients.map((c) => c.invalidateCache({ bucket: "default", key: `ryw/marker-${i}` })));
      await eventually(async () => (await peerInvalidationsApplied()) >= appliedBefore + 8, {
        what: "the marker invalidations applied by every replica",
        everyMs: 5,
      });
      expect(await peerInvalidationsApplied()).toBe(appliedBefore + 8);
      const statuses: string[] = [];
      for (let r = 0; r < 3; r++) {
        const res = await fetch(`${stack.base}/${key}`);
        expect(await res.text()).toBe(`v${i}`);
        statuses.push(res.headers.get("cache-status") ?? "");
      }
      expect(
        statuses.filter((s) => s === "breakwater; hit"),
        JSON.stringify(statuses),
      ).toHaveLength(1);
    }
  });
});
