import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "./__fixtures__/stack.js";

const TOKEN = "purge-test-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
/** Cached in both replicas before each purge; "other" is another bucket. */
const KEYS = ["default/p/a/1", "default/p/a/2", "default/p/b/1", "default/q/1", "other/p/a/1"];

/**
 * PURGE (design.md "Gateway": Varnish's verb, `?prefix=1` for a prefix, the
 * admin token) over two cache-store replicas. The gateway's near-cache is off
 * so that each read shows the cache-store's own Cache-Status: `hit` while a
 * replica holds the key, `fwd=miss` once it was purged.
 */
describe("PURGE over two cache-stores", () => {
  let stack: Stack;
  let objects: string;

  beforeAll(async () => {
    stack = await startStack({
      cacheStores: 2,
      // Round robin, so that both replicas hold every key and the purge is seen to reach each.
      gatewayEnv: { BW_ADMIN_TOKEN: TOKEN, GATEWAY_CACHE_MAX_BYTES: "0", GATEWAY_ROUTING: "round-robin" },
    });
    objects = `${stack.gateways[0]!.httpUrl}/objects`;
    for (const key of KEYS) expect((await fetch(`${objects}/${key}`, { method: "PUT", body: key })).status).toBe(200);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Reads every key twice (reads go round robin: once per replica) so that both replicas hold each. */
  async function cacheEverywhere(): Promise<void> {
    for (const key of KEYS) for (let i = 0; i < 2; i++) await (await fetch(`${objects}/${key}`)).arrayBuffer();
  }

  /** The keys that some replica no longer held: a read of them reached storage. */
  async function purgedKeys(): Promise<string[]> {
    const purged = new Set<string>();
    for (const key of KEYS) {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${objects}/${key}`);
        expect(await res.text()).toBe(key);
        if (res.headers.get("cache-status") !== "breakwater; hit") purged.add(key);
      }
    }
    return [...purged];
  }

  async function purge(path: string, headers: Record<string, string> = AUTH): Promise<Response> {
    return fetch(`${objects}/${path}`, { method: "PURGE", headers });
  }

  it("needs the admin token: none or a wrong one → 401 with WWW-Authenticate, nothing purged", async () => {
    await cacheEverywhere();
    const refused: Record<string, string>[] = [{}, { authorization: "Bearer wrong" }, { authorization: TOKEN }];
    for (const headers of refused) {
      const res = await purge("default/p/a/1", headers);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      expect(await res.json()).toMatchObject({ code: "unauthenticated" });
    }
    expect(await purgedKeys()).toEqual([]);
  });

  it("one key: only that key, from both replicas", async () => {
    await cacheEverywhere();
    const res = await purge("default/p/a/1");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ bucket: "default", key: "p/a/1", prefix: false, purged: 2 });
    expect(await purgedKeys()).toEqual(["default/p/a/1"]);
  });

  it.each(["true", "1"])("?prefix=%s: every key under the prefix in that bucket, nothing else", async (flag) => {
    await cacheEverywhere();
    const res = await purge(`default/p/a/?prefix=${flag}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ bucket: "default", key: "p/a/", prefix: true, purged: 4 });
    expect(await purgedKeys()).toEqual(["default/p/a/1", "default/p/a/2"]);
  });

  it("without ?prefix a key is literal: p/a/ purges no key under it", async () => {
    await cacheEverywhere();
    const res = await purge("default/p/a/x?prefix=0");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ prefix: false, purged: 0 });
    expect(await purgedKeys()).toEqual([]);
    // An empty key is a prefix or nothing.
    expect((await purge("default/")).status).toBe(400);
  });

  it("bucket-wide (empty prefix): every key of that bucket, none of another bucket", async () => {
    await cacheEverywhere();
    const res = await purge("default/?prefix=1");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ bucket: "default", key: "", prefix: true, purged: 8 });
    expect(await purgedKeys()).toEqual(KEYS.filter((k) => k.startsWith("default/")));
  });

  it("one replica down: 503 + Retry-After (not every copy could be dropped); the live replica has purged", async () => {
    await cacheEverywhere();
    expect(await stack.cacheStores[1]!.stop("SIGKILL")).toBe("SIGKILL");
    const res = await purge("default/p/?prefix=1");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    const body = (await res.json()) as { error: string; code: string };
    expect(body.code).toBe("unavailable");
    expect(body.error).not.toMatch(/127\.0\.0\.1|:\d{2,5}\b/); // no internal address
    // Reads fail over to the live replica, which no longer holds the prefix (the 503 came after it purged).
    expect(await purgedKeys()).toEqual(["default/p/a/1", "default/p/a/2", "default/p/b/1"]);
  });
});
