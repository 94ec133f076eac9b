import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { eventually } from "./eventually.js";
import { ETCD_MISSING, etcdInstalled, startEtcdCluster, type EtcdCluster } from "./etcd-cluster.js";

const put = (endpoints: readonly string[], key: string, value: string) =>
  spawnSync("etcdctl", ["--endpoints", endpoints.join(","), "--command-timeout=3s", "put", key, value]).status;

describe.skipIf(!etcdInstalled())(`startEtcdCluster (${etcdInstalled() ? "etcd found" : ETCD_MISSING})`, () => {
  let cluster: EtcdCluster | undefined;
  afterAll(() => cluster?.stop());

  it("starts 3 healthy nodes with a leader; a killed leader is replaced and comes back on its ports", async () => {
    cluster = await startEtcdCluster({ nodes: 3 });
    expect(cluster.endpoints).toHaveLength(3);
    const leader = await cluster.leader();
    expect(leader).toBeDefined();
    const pid = cluster.pid(leader!)!;
    await cluster.kill(leader!);
    expect(() => process.kill(pid, 0)).toThrow(); // gone, not just signalled
    // The survivors elect a leader (about a second) and take writes again.
    const survivors = cluster.endpoints.filter((_, i) => i !== leader);
    await eventually(() => put(survivors, "k", "v") === 0, { what: "a write after the leader kill" });
    expect(await cluster.leader()).not.toBe(leader);
    await cluster.restart(leader!);
    await cluster.healthy();
    expect(cluster.pid(leader!)).not.toBe(pid);
  });
});
