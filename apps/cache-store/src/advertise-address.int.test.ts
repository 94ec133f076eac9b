import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { breakerV1, cacheV1 } from "@breakwater/proto";
import { createOwnerOrder } from "@breakwater/cache";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import { eventually, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import { get, startCacheStoreStack, type CacheStoreStack } from "./__fixtures__/cache-store-stack.js";

/**
 * A replica's name among the owners of keys is the address others dial: the
 * bound port (CACHE_STORE_PORT=0 here), or CACHE_STORE_ADVERTISE_ADDRESS. The
 * same name reaches the coordinator in the breaker session's hello.
 */
describe("the advertised address: GetStats membership and the coordinator's ListInstances", () => {
  let dir: string;
  let coordinator: ServiceProcess;
  let ops: GrpcClient<typeof breakerV1.BreakerCoordinator>;
  const stacks: CacheStoreStack[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-advertise-"));
    coordinator = await startServiceProcess("breaker-coordinator", {
      env: { COORDINATOR_STATE_FILE: join(dir, "state.json") },
    });
    ops = createGrpcClient(breakerV1.BreakerCoordinator, coordinator.grpcAddress);
  });

  afterAll(async () => {
    for (const s of stacks) await s.close();
    ops?.close();
    await coordinator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The address the coordinator lists for the cache-store with this pid. */
  async function listed(stack: CacheStoreStack): Promise<string> {
    let address: string | undefined;
    await eventually(
      async () => {
        const instances = (await ops.listInstances({})).instances;
        address = instances.find((i) => i.instanceId.includes(`-${stack.process.pid}-`))?.address;
        return address !== undefined;
      },
      { what: "the cache-store's session listed" },
    );
    return address!;
  }

  it("by default: 127.0.0.1 and the port actually bound, not the configured 0", async () => {
    const stack = await startCacheStoreStack({ env: { COORDINATOR_URL: `http://${coordinator.grpcAddress}` } });
    stacks.push(stack);
    const name = `127.0.0.1:${stack.process.grpcPort}`;
    const stats = await stack.client.getStats({});
    expect([stats.membership?.self, stats.membership?.members]).toEqual([name, [name]]);
    expect(await listed(stack)).toBe(name);
  });

  it("CACHE_STORE_ADVERTISE_ADDRESS, when set", async () => {
    const stack = await startCacheStoreStack({
      env: {
        COORDINATOR_URL: `http://${coordinator.grpcAddress}`,
        CACHE_STORE_ADVERTISE_ADDRESS: "cache-7.internal:50051",
      },
    });
    stacks.push(stack);
    expect((await stack.client.getStats({})).membership?.self).toBe("cache-7.internal:50051");
    expect(await listed(stack)).toBe("cache-7.internal:50051");
  });

  it("keys of a peer that never answers fall back to storage; CACHE_STORE_FORWARDING=false serves all", async () => {
    const dead = "127.0.0.1:1"; // nothing listens on port 1
    const forwarding = await startCacheStoreStack({ env: { CACHE_STORE_PEERS: `http://${dead}` } });
    const off = await startCacheStoreStack({
      env: { CACHE_STORE_PEERS: `http://${dead}`, CACHE_STORE_FORWARDING: "false" },
    });
    stacks.push(forwarding, off);
    const self = `127.0.0.1:${forwarding.process.grpcPort}`;
    expect((await forwarding.client.getStats({})).membership?.members).toEqual([self, dead].sort());
    expect((await off.client.getStats({})).membership?.members).toEqual([`127.0.0.1:${off.process.grpcPort}`]);
    const order = createOwnerOrder([self, dead]);
    let key = "k-0";
    for (let i = 1; order.owner("default", key) !== dead; i++) key = `k-${i}`;
    await forwarding.seed(key, "here");
    await off.seed(key, "here");
    const fellBack = await get(forwarding.client, key);
    expect([fellBack.body.toString(), fellBack.first.route]).toEqual(["here", cacheV1.ReadRoute.OWNER_FALLBACK]);
    const local = await get(off.client, key);
    expect([local.body.toString(), local.first.route]).toEqual(["here", cacheV1.ReadRoute.OWNED]);
  });
});
