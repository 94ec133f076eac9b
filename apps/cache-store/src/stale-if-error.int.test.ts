import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheV1 } from "@breakwater/proto";
import { Code } from "@connectrpc/connect";
import { s3Unavailable, type ProxyMode } from "@breakwater/testkit";
import { get, getFailure, startCacheStoreStack, type CacheStoreStack } from "./__fixtures__/cache-store-stack.js";

const { HIT, MISS, STALE } = cacheV1.CacheStatus;
const statusName = (s: cacheV1.CacheStatus): string => cacheV1.CacheStatus[s] ?? String(s);

// Each fault as storage shows it in production, applied by the proxy in front of s3rver.
const faults: [string, ProxyMode][] = [
  ["S3 answers 503 SlowDown", s3Unavailable],
  ["S3 resets the connection", { kind: "reset" }],
  ["S3 hangs (S3_REQUEST_TIMEOUT)", { kind: "black-hole" }],
];

describe("stale-if-error: cache-store keeps serving expired copies while S3 is down (CACHE_TTL=200ms)", () => {
  let stack: CacheStoreStack;
  let dir: string;

  beforeAll(async () => {
    // The failures open the storage breaker (no coordinator here: the local one); a short
    // open time lets the healed store be probed within the test.
    dir = mkdtempSync(join(tmpdir(), "bw-stale-"));
    writeFileSync(
      join(dir, "breakers.yaml"),
      "defaults:\n  open_timeout: 300ms\n  open_jitter: 0\n  success_threshold: 1\n",
    );
    stack = await startCacheStoreStack({
      // A hung store is detected by the SDK's request timeout, kept short here.
      env: { CACHE_TTL: "200ms", S3_REQUEST_TIMEOUT: "400ms", BREAKER_CONFIG: join(dir, "breakers.yaml") },
    });
  });
  /**
   * Waits until the storage breaker admits reads again: a fault's last timed-out
   * request may land after the heal and reopen it for open_timeout. A read of a
   * missing key is the probe (NOT_FOUND means storage answered; a new key each
   * time, as a 404 is cached).
   */
  let probes = 0;
  async function storageAdmitsReads(): Promise<void> {
    await expect
      .poll(async () => (await getFailure(stack.client, `stale/never-there-${++probes}.txt`)).code, {
        interval: 50,
        timeout: 5_000,
      })
      .toBe(Code.NotFound);
  }

  afterAll(async () => {
    stack?.proxy.setMode({ kind: "pass" });
    if (stack !== undefined) expect(await stack.close()).toBe(0); // a clean SIGTERM shutdown
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(faults)(
    "%s: expired → STALE with the right body; uncached → UNAVAILABLE + retry-after-ms; healed → REVALIDATED",
    async (name, mode) => {
      const key = `stale/${name.replace(/\W+/g, "-")}.txt`;
      const body = `body of ${key}`;
      await stack.seed(key, body);
      await storageAdmitsReads();
      expect((await get(stack.client, key)).status).toBe(MISS);
      const statsBefore = await stack.client.getStats({});

      stack.proxy.setMode(mode);
      try {
        // Until the copy is 200 ms old it is a HIT without a storage call; then storage fails and it is STALE.
        await expect
          .poll(async () => statusName((await get(stack.client, key)).status), { interval: 50, timeout: 5_000 })
          .toBe("STALE");
        const stale = await get(stack.client, key);
        expect(stale.status).toBe(STALE);
        expect(stale.body.toString()).toBe(body);

        const started = performance.now();
        const err = await getFailure(stack.client, `${key}.never-cached`);
        const failedAfterMs = performance.now() - started;
        expect(err.code).toBe(Code.Unavailable);
        const retryAfter = err.metadata.get("retry-after-ms");
        expect(retryAfter).toMatch(/^\d+$/);
        expect(Number(retryAfter)).toBeGreaterThan(0);
        // A hung store costs at most the request timeout, not the SDK's default 30 s.
        expect(failedAfterMs).toBeLessThan(5_000);
        console.info(
          `${name}: uncached read failed UNAVAILABLE in ${failedAfterMs.toFixed(0)} ms, retry-after-ms=${retryAfter}`,
        );
      } finally {
        stack.proxy.setMode({ kind: "pass" });
      }

      // Stale until the breaker lets a probe through (open_timeout), then confirmed.
      await expect
        .poll(async () => statusName((await get(stack.client, key)).status), { interval: 50, timeout: 5_000 })
        .not.toBe("STALE");
      const healed = await get(stack.client, key);
      // s3rver honours If-None-Match on GET: the copy is confirmed (304), not fetched again; now fresh, a HIT.
      expect(statusName(healed.status)).toMatch(/^(REVALIDATED|HIT)$/);
      expect(healed.body.toString()).toBe(body);
      const statsAfter = await stack.client.getStats({});
      expect(statsAfter.staleServed).toBeGreaterThan(statsBefore.staleServed);
      expect(statsAfter.revalidations).toBe(statsBefore.revalidations + 1n);
    },
  );

  it("after healing, a copy changed in S3 meanwhile is fetched anew (MISS), not served from the old one", async () => {
    const key = "stale/changed-behind.txt";
    await storageAdmitsReads();
    await stack.put(key, "old");
    expect((await get(stack.client, key)).body.toString()).toBe("old");
    stack.proxy.setMode(s3Unavailable);
    try {
      await expect
        .poll(async () => statusName((await get(stack.client, key)).status), { interval: 50, timeout: 5_000 })
        .toBe("STALE");
    } finally {
      stack.proxy.setMode({ kind: "pass" });
    }
    await stack.seed(key, "new, written by someone else"); // past the cache-store, as another writer would
    // Stale (the old body) until the breaker admits a probe; then storage's 200 replaces the copy.
    let fresh: Awaited<ReturnType<typeof get>> | undefined;
    await expect
      .poll(async () => statusName((fresh = await get(stack.client, key)).status), { interval: 50, timeout: 5_000 })
      .toBe("MISS");
    expect(fresh?.body.toString()).toBe("new, written by someone else");
    expect((await get(stack.client, key)).status).toBe(HIT);
  });
});
