import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { breakerV1, healthV1 } from "@breakwater/proto";
import { createGrpcClient, type GrpcClient } from "@breakwater/server-kit";
import {
  ETCD_MISSING,
  etcdInstalled,
  eventually,
  startEtcdCluster,
  startServiceProcess,
  type EtcdCluster,
  type ServiceProcess,
} from "@breakwater/testkit";
import { SimInstance } from "./__fixtures__/sim-instance.js";

const { BreakerState, ForceMode } = breakerV1;
const { HealthCheckResponse_ServingStatus: Serving } = healthV1;
const BREAKER = "s3:http://storage.test:9000";
const FORCED = "cache-store:10.0.0.9:50051";
const TOKEN = "test-admin-token";
const MAX_PROBES = 2;
const admin = { headers: { authorization: `Bearer ${TOKEN}` } };

type Ops = GrpcClient<typeof breakerV1.BreakerCoordinator>;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The (version, state) sequence a session received for a breaker: its snapshot's, then each transition. */
function versions(i: SimInstance, breaker = BREAKER): [number, breakerV1.BreakerState][] {
  const seen: [number, breakerV1.BreakerState][] = [];
  for (const m of i.received) {
    if (m.message.case === "snapshot") {
      const b = m.message.value.breakers.find((x) => x.name === breaker);
      if (b) seen.push([Number(b.version), b.state]);
    }
    const t = m.message.case === "transition" ? m.message.value.breaker : undefined;
    if (t?.name === breaker) seen.push([Number(t.version), t.state]);
  }
  return seen;
}

describe.skipIf(!etcdInstalled())(
  `coordinator replicas on a 3-node etcd (${etcdInstalled() ? "etcd found" : ETCD_MISSING})`,
  () => {
    let dir: string;
    let etcd: EtcdCluster;
    let replicas: ServiceProcess[] = [];
    let ops: Ops[] = [];
    let fleet: SimInstance[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "bw-replicas-"));
      writeFileSync(
        join(dir, "breakers.yaml"),
        "defaults:\n  open_timeout: 1s\n  max_open_timeout: 2s\n  open_jitter: 0\n  probe_lease: 3s\n" +
          // 15 calls trip it: no replica's 6 alone do, the fleet's 18 do.
          "  minimum_requests: 15\n  consecutive_failures: 100\n" +
          // Simulated instances send no heartbeats: a long interval keeps them listed for the whole file.
          `  heartbeat_interval: 1s\n  half_open_max_probes: ${MAX_PROBES}\n`,
      );
      etcd = await startEtcdCluster({ nodes: 3 });
      replicas = await Promise.all(
        [0, 1, 2].map((n) =>
          startServiceProcess("breaker-coordinator", {
            env: {
              BREAKER_CONFIG: join(dir, "breakers.yaml"),
              COORDINATOR_STATE_FILE: join(dir, `unused-${n}.json`),
              COORDINATOR_ETCD_ENDPOINTS: etcd.endpoints.join(","),
              COORDINATOR_ETCD_PREFIX: "/bw-test/",
              COORDINATOR_ETCD_LEASE_TTL: "2s",
              COORDINATOR_REPLICA_ID: `replica-${n}`,
              BW_ADMIN_TOKEN: TOKEN,
            },
          }),
        ),
      );
      ops = replicas.map((r) => createGrpcClient(breakerV1.BreakerCoordinator, r.grpcAddress));
      // i1, i2 on replica 0; i3 on 1; i4, i5 on 2.
      const home = [0, 0, 1, 2, 2];
      fleet = home.map((r, n) => new SimInstance(ops[r]!, `i${n + 1}`, { breakers: [BREAKER] }));
      await eventually(() => fleet.every((i) => i.state() === BreakerState.CLOSED), { what: "every snapshot" });
    }, 60_000);

    afterAll(async () => {
      fleet.forEach((i) => i.kill());
      ops.forEach((o) => o.close());
      const pids = [...replicas.map((r) => r.pid), ...[0, 1, 2].flatMap((i) => etcd?.pid(i) ?? [])];
      await Promise.all(replicas.map((r) => r.stop("SIGKILL")));
      await etcd?.stop();
      rmSync(dir, { recursive: true, force: true });
      // Every process this file started is gone.
      expect(pids.filter((pid) => alive(pid))).toEqual([]);
    });

    it("opens once for failures reported on different replicas; every session gets that version", async () => {
      // Failing instances on all three replicas: no replica alone has a quorum of the fleet's window.
      fleet[0]!.report(0, 6);
      fleet[2]!.report(0, 6);
      fleet[3]!.report(0, 6);
      await eventually(() => fleet.every((i) => i.state() === BreakerState.OPEN), {
        what: "open on every session",
      });
      const opened = fleet.map((i) => versions(i).filter(([, s]) => s === BreakerState.OPEN));
      expect(opened.every((o) => o.length === 1)).toBe(true);
      const version = opened[0]![0]![0];
      expect(opened.map((o) => o[0]![0])).toEqual(fleet.map(() => version));
      for (const o of ops) {
        const b = (await o.getBreaker({ name: BREAKER })).breaker!;
        expect([b.state, Number(b.version)]).toEqual([BreakerState.OPEN, version]);
      }
    });

    it(`grants exactly ${MAX_PROBES} of 5 probe requests sent at once through 3 replicas`, async () => {
      await eventually(() => fleet.every((i) => i.state() === BreakerState.HALF_OPEN), {
        what: "half-open on every session",
      });
      for (const i of fleet) {
        i.send({ case: "probeRequest", value: create(breakerV1.ProbeRequestSchema, { breaker: BREAKER }) });
      }
      await eventually(() => fleet.every((i) => i.grants().length === 1), { what: "5 probe answers" });
      const granted = fleet.filter((i) => i.grants()[0]!.granted);
      expect(granted).toHaveLength(MAX_PROBES);
      // Every session saw one and the same sequence of versions: no gap, no fork.
      const sequences = fleet.map((i) => JSON.stringify(versions(i)));
      expect(new Set(sequences).size).toBe(1);
      const seq = versions(fleet[0]!).map(([v]) => v);
      expect(seq).toEqual(seq.map((_, n) => seq[0]! + n));
    });

    it("shows a force made on replica 0 on replica 1 and in replica 2's watch; a SIGKILL loses none", async () => {
      const watched: breakerV1.BreakerTransition[] = [];
      const abort = new AbortController();
      const watching = (async () => {
        for await (const m of ops[2]!.watchBreakers({ names: [FORCED] }, { signal: abort.signal })) {
          watched.push(m.transition!);
        }
      })().catch(() => undefined);
      const forced = await ops[0]!.forceBreaker(
        { name: FORCED, mode: ForceMode.OPEN, reason: "drain for maintenance" },
        admin,
      );
      const version = forced.breaker!.version;
      // Another replica shows it once its watch delivers the commit (milliseconds).
      const onReplica1 = async () =>
        (await ops[1]!.getBreaker({ name: FORCED }).catch(() => undefined))?.breaker?.version === version;
      await eventually(onReplica1, { what: "the force on replica 1" });
      const seen = (await ops[1]!.getBreaker({ name: FORCED })).breaker!;
      expect([seen.state, seen.override?.mode, seen.reason, seen.version]).toEqual([
        BreakerState.OPEN,
        ForceMode.OPEN,
        "drain for maintenance",
        version,
      ]);
      await eventually(() => watched.some((t) => t.breaker?.version === version), { what: "the force watched" });
      abort.abort();
      await watching;

      const everyone = ["i1", "i2", "i3", "i4", "i5"];
      const listed = async (o: Ops) => (await o.listInstances({})).instances.map((i) => i.instanceId).sort();
      await eventually(async () => JSON.stringify(await listed(ops[1]!)) === JSON.stringify(everyone), {
        what: "replica 1 lists the whole fleet",
      });

      await replicas[0]!.stop("SIGKILL");
      fleet.slice(0, 2).forEach((i) => i.kill());
      for (const o of ops.slice(1)) {
        const b = (await o.getBreaker({ name: FORCED })).breaker!;
        expect([b.state, b.override?.reason, b.version]).toEqual([BreakerState.OPEN, "drain for maintenance", version]);
      }
      // The dead replica's instances lapse with its lease; the survivors' stay listed everywhere.
      for (const o of ops.slice(1)) {
        await eventually(async () => JSON.stringify(await listed(o)) === JSON.stringify(["i3", "i4", "i5"]), {
          what: "the survivors list the fleet without the dead replica's instances",
        });
      }
    });

    it("keeps every acknowledged ForceBreaker through a SIGKILL of the etcd leader under load", async () => {
      const leader = await etcd.leader();
      expect(leader).toBeDefined();
      const acknowledged: string[] = [];
      const refused: Code[] = [];
      let n = 0;
      let stop = false;
      const load = (async () => {
        while (!stop) {
          const name = `cache-store:10.0.1.${++n}:50051`;
          await ops[1]!.forceBreaker({ name, mode: ForceMode.OPEN, reason: `force ${n}` }, admin).then(
            () => acknowledged.push(name),
            (e: unknown) => refused.push(ConnectError.from(e).code),
          );
        }
      })();
      await eventually(() => acknowledged.length >= 5, { what: "forces acknowledged before the kill" });
      await etcd.kill(leader!);
      const before = acknowledged.length;
      await eventually(() => acknowledged.length >= before + 5, { what: "forces acknowledged after the election" });
      stop = true;
      await load;
      // Whatever was refused was refused as UNAVAILABLE (the operator retries), never acknowledged and lost.
      expect(refused.every((c) => c === Code.Unavailable)).toBe(true);
      // Replica 2 learns them from its watch, which resumes from its revision after the election.
      const shown = async (name: string) =>
        (await ops[2]!.getBreaker({ name }).catch(() => undefined))?.breaker?.override?.mode === ForceMode.OPEN;
      await eventually(async () => (await Promise.all(acknowledged.map(shown))).every(Boolean), {
        what: "every acknowledged force on replica 2",
      });
      for (const name of acknowledged) {
        const b = (await ops[2]!.getBreaker({ name })).breaker!;
        expect([b.name, b.state, b.override?.mode]).toEqual([name, BreakerState.OPEN, ForceMode.OPEN]);
      }
      // The sessions on both surviving replicas heard one and the same gapless sequence per breaker, forced
      // and automatic transitions alike, through the replica kill and the election.
      const live = fleet.slice(2);
      await eventually(() => live.every((i) => acknowledged.every((name) => versions(i, name).length > 0)), {
        what: "every acknowledged force heard by every live session",
      });
      expect(live.map((i) => i.closed)).toEqual([false, false, false]);
      const names = new Set(live.flatMap((i) => i.transitions().map((t) => t.breaker!.name)));
      expect(names.size).toBeGreaterThanOrEqual(acknowledged.length + 2);
      for (const name of names) {
        const sequences = live.map((i) => JSON.stringify(versions(i, name)));
        expect(new Set(sequences).size, name).toBe(1);
        const seq = versions(live[0]!, name).map(([v]) => v);
        expect(seq, name).toEqual(seq.map((_, k) => seq[0]! + k));
      }
      await etcd.restart(leader!);
      await etcd.healthy();
    }, 60_000);

    it("goes NOT_SERVING without etcd (ops UNAVAILABLE, sessions ended), serves again once it is back", async () => {
      const survivors = replicas.slice(1);
      const health = survivors.map((r) => createGrpcClient(healthV1.Health, r.grpcAddress));
      const versionsOf = async () =>
        (await ops[1]!.listBreakers({})).breakers.map((b) => `${b.name} v${b.version} ${b.state}`);
      const before = await versionsOf();
      try {
        await Promise.all([0, 1, 2].map((i) => etcd.kill(i)));
        for (const h of health) {
          await eventually(async () => (await h.check({ service: "" })).status === Serving.NOT_SERVING, {
            what: "NOT_SERVING without etcd",
          });
        }
        for (const r of survivors) expect((await fetch(`${r.httpUrl}/readyz`)).status).toBe(503);
        const err = await ops[1]!.listBreakers({}).catch((e: unknown) => ConnectError.from(e));
        expect(err).toBeInstanceOf(ConnectError);
        expect((err as ConnectError).code).toBe(Code.Unavailable);
        expect((err as ConnectError).message).toMatch(/etcd/);
        await eventually(() => fleet.slice(2).every((i) => i.closed), { what: "sessions ended" });
        expect(fleet.slice(2).map((i) => i.error?.code)).toEqual([
          Code.Unavailable,
          Code.Unavailable,
          Code.Unavailable,
        ]);
        // A new session is refused while the replica cannot speak for the fleet.
        const late = new SimInstance(ops[2]!, "late", { breakers: [BREAKER] });
        await late.done;
        expect(late.error?.code).toBe(Code.Unavailable);

        await Promise.all([0, 1, 2].map((i) => etcd.restart(i)));
        await etcd.healthy();
        for (const h of health) {
          await eventually(async () => (await h.check({ service: "" })).status === Serving.SERVING, {
            what: "SERVING once etcd is back",
            timeoutMs: 20_000,
          });
        }
        for (const r of survivors) expect((await fetch(`${r.httpUrl}/readyz`)).status).toBe(200);
        const b = (await ops[2]!.getBreaker({ name: FORCED })).breaker!;
        expect([b.state, b.override?.mode]).toEqual([BreakerState.OPEN, ForceMode.OPEN]);
        // Nothing was decided meanwhile.
        expect(await versionsOf()).toEqual(before);
      } finally {
        health.forEach((h) => h.close());
      }
    }, 60_000);
  },
);
