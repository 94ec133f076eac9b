import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "./__fixtures__/stack.js";

/**
 * One gateway over three cache-store replicas, first not each other's peers:
 * reads go round robin, so every replica holds its own copy of a key. A write
 * through the gateway must never be followed by an older body from it.
 */
describe("read-your-writes through a gateway with three cache-store upstreams", () => {
  let stack: Stack;

  beforeAll(async () => {
    // Near-cache off: every read reaches a replica.
    stack = await startStack({ cacheStores: 3, gatewayEnv: { GATEWAY_CACHE_MAX_BYTES: "0" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const read = async (key: string): Promise<string> => (await fetch(`${stack.base}/${key}`)).text();

  it("over 100 writes, each with every replica holding the previous body, no read after the write answers an older one", async () => {
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

  beforeAll(async () => {
    stack = await startStack({ cacheStores: 3, peers: true, gatewayEnv: { GATEWAY_CACHE_MAX_BYTES: "0" } });
    // Every peer stream live first: each (re)subscription marks the replica's entries for revalidation.
    const liveStreams = async (): Promise<number> => {
      const texts = await Promise.all(stack.cacheStores.map(async (c) => (await fetch(`${c.httpUrl}/metrics`)).text()));
      return texts.join("\n").split("\n").filter((l) => l.startsWith("cache_peer_invalidation_stream_live{") && l.endsWith(" 1")).length;
    };
    for (const deadline = performance.now() + 10_000; (await liveStreams()) < 6; ) {
      if (performance.now() > deadline) throw new Error("the replicas' peer streams did not all come up within 10 s");
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("the gateway's drops elsewhere are local: the writer keeps the copy it wrote through (one hit in the three reads after each write)", async () => {
    const key = "ryw/peers.txt";
    await fetch(`${stack.base}/${key}`, { method: "PUT", body: "v0" });
    for (let i = 1; i <= 30; i++) {
      for (let r = 0; r < 3; r++) await (await fetch(`${stack.base}/${key}`)).text();
      expect((await fetch(`${stack.base}/${key}`, { method: "PUT", body: `v${i}` })).status).toBe(200);
      // Let every peer's stream deliver what it will: a published purge would have reached the writer by then.
      await new Promise((r) => setTimeout(r, 20));
      const statuses: string[] = [];
      for (let r = 0; r < 3; r++) {
        const res = await fetch(`${stack.base}/${key}`);
        expect(await res.text()).toBe(`v${i}`);
        statuses.push(res.headers.get("cache-status") ?? "");
      }
      expect(statuses.filter((s) => s === "breakwater; hit"), JSON.stringify(statuses)).toHaveLength(1);
    }
  });
});
