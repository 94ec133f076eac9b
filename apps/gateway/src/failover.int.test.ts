import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "@breakwater/testkit";
import { startStack, type Stack } from "./__fixtures__/stack.js";

const KEYS = Array.from({ length: 12 }, (_, i) => `failover/key-${i}`);
const READERS = 4;

/**
 * One of three cache-store replicas dies (SIGKILL) under a steady read load
 * through a gateway with CACHE_STORE_URLS naming all three: reads keep
 * succeeding (design.md "Gateway": requests go to healthy upstreams). Only
 * reads already in flight at the kill may fail. The near-cache is off, so
 * every read is a CacheService call.
 */
describe("failover when one cache-store dies", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ cacheStores: 3, gatewayEnv: { GATEWAY_CACHE_MAX_BYTES: "0" } });
    for (const key of KEYS)
      expect((await fetch(`${stack.base}/${key}`, { method: "PUT", body: key })).status).toBe(200);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("GET and HEAD keep answering; failures only among the reads in flight at the kill", async () => {
    let killedAt = Infinity; // performance.now() once the replica has exited
    let stop = false;
    const failures: { startedAt: number; what: string }[] = [];
    let afterKill = 0;
    let total = 0;

    async function reader(r: number): Promise<void> {
      for (let i = r; !stop; i += READERS) {
        const key = KEYS[i % KEYS.length]!;
        const method = i % 3 === 0 ? "HEAD" : "GET";
        const startedAt = performance.now();
        let what: string | undefined;
        try {
          const res = await fetch(`${stack.base}/${key}`, { method });
          const body = await res.text();
          if (res.status !== 200 || (method === "GET" && body !== key))
            what = `${method} ${key}: ${res.status} ${body}`;
        } catch (err) {
          what = `${method} ${key}: ${String(err)}`;
        }
        total++;
        if (what !== undefined) failures.push({ startedAt, what });
        if (startedAt > killedAt) afterKill++;
      }
    }

    const readers = Array.from({ length: READERS }, (_, r) => reader(r));
    await eventually(() => total >= 60, { what: "reads before the kill" });
    expect(failures).toEqual([]);
    expect(await stack.cacheStores[1]!.stop("SIGKILL")).toBe("SIGKILL");
    killedAt = performance.now();
    // Enough reads after the kill for each reader to meet the dead replica many times over.
    await eventually(() => afterKill >= 150, { timeoutMs: 20_000, what: "reads after the kill" });
    stop = true;
    await Promise.all(readers);

    const late = failures.filter((f) => f.startedAt > killedAt);
    expect(late, "reads started after the replica had died").toEqual([]);
    expect(failures.length, failures.map((f) => f.what).join("\n")).toBeLessThanOrEqual(READERS);
  }, 60_000);
});
