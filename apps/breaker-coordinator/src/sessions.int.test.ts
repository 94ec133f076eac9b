/**
 * Sessions that misbehave by being slow or silent, with a real coordinator
 * process: one that stops reading is cut off at its queue cap (bounded memory,
 * the others served in full), one that stops talking is listed stale and
 * later dropped.
 */
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { breakerV1 } from "@breakwater/proto";
import { createGrpcClient } from "@breakwater/server-kit";
import {
  eventually,
  heapAfterGc,
  heapProbeEnv,
  MiB,
  scrapeSample,
  startServiceProcess,
  type ServiceProcess,
} from "@breakwater/testkit";
import { SimInstance } from "./__fixtures__/sim-instance.js";

const { ForceMode, InstanceStatus } = breakerV1;
const BREAKER = "s3:http://storage.test:9000";
const LIMIT = 200;

/**
 * A Session over raw HTTP/2 that says hello and then reads nothing: HTTP/2 flow
 * control soon stops the coordinator's writes, and its queue fills.
 */
function stuckSession(grpcAddress: string, instanceId: string): { h2: ClientHttp2Session; stream: ClientHttp2Stream } {
  const h2 = connect(`http://${grpcAddress}`);
  const stream = h2.request({
    ":method": "POST",
    ":path": "/breakwater.breaker.v1.BreakerCoordinator/Session",
    "content-type": "application/grpc",
    te: "trailers",
  });
  const hello = toBinary(
    breakerV1.SessionRequestSchema,
    create(breakerV1.SessionRequestSchema, {
      message: { case: "hello", value: { instanceId, service: "cache-store", breakers: [BREAKER] } },
    }),
  );
  const frame = Buffer.alloc(5 + hello.length);
  frame.writeUInt32BE(hello.length, 1);
  frame.set(hello, 5);
  stream.write(frame);
  stream.pause();
  return { h2, stream };
}

function tempDir(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "bw-coord-sessions-"));
  writeFileSync(join(dir, "breakers.yaml"), yaml);
  return dir;
}

describe("coordinator sessions", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function start(yaml: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const dir = tempDir(yaml);
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const p = await startServiceProcess("breaker-coordinator", {
      env: { BREAKER_CONFIG: join(dir, "breakers.yaml"), COORDINATOR_STATE_FILE: join(dir, "state.json"), ...env },
    });
    cleanup.push(() => p.stop("SIGKILL"));
    return p;
  }

  it("cuts off a session that stops reading at its cap; memory bounded, others get every transition", async () => {
    const p = await start("defaults:\n  heartbeat_interval: 1s\n", {
      ...heapProbeEnv,
      COORDINATOR_SESSION_QUEUE_LIMIT: String(LIMIT),
    });
    const ops = createGrpcClient(breakerV1.BreakerCoordinator, p.grpcAddress);
    cleanup.push(() => ops.close());
    const reader = new SimInstance(ops, "reader", { breakers: [BREAKER] });
    cleanup.push(() => reader.end());
    const stuck = stuckSession(p.grpcAddress, "stuck");
    cleanup.push(() => stuck.h2.destroy());
    await eventually(async () => (await scrapeSample(p.httpUrl, "coordinator_sessions")) === 2, { what: "2 sessions" });
    const baseline = await heapAfterGc(p.pid);

    // Transitions as fast as operators can make them (16 in flight), until the stuck session is cut off, then more.
    let forces = 0;
    const flood = async (n: number) => {
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (n-- > 0) {
            forces++;
            await ops.forceBreaker({
              name: BREAKER,
              mode: forces % 2 ? ForceMode.OPEN : ForceMode.AUTO,
              reason: "flood",
            });
          }
        }),
      );
    };
    const cutOff = async () => (await scrapeSample(p.httpUrl, "coordinator_sessions_cut_off_total")) === 1;
    await eventually(async () => (await cutOff()) || (await flood(LIMIT), false), {
      timeoutMs: 60_000,
      everyMs: 1,
      what: "the stuck session cut off",
    });
    await flood(5 * LIMIT);

    // Cut off: gone from the sessions, listed stale, logged; the reader is served on.
    expect(await scrapeSample(p.httpUrl, "coordinator_sessions")).toBe(1);
    expect(
      p.output
        .filter((l) => l.includes('"cut off a session that fell too far behind'))
        .map((l) => JSON.parse(l) as object),
    ).toEqual([expect.objectContaining({ level: 40, instanceId: "stuck", limit: LIMIT })]);
    // A heartbeat, however long the flood took.
    reader.send({ case: "report", value: create(breakerV1.OutcomeReportSchema, {}) });
    const statuses = async () =>
      Object.fromEntries((await ops.listInstances({})).instances.map((i) => [i.instanceId, i.status]));
    await eventually(async () => (await statuses()).reader === InstanceStatus.LIVE, { what: "reader live" });
    expect(await statuses()).toEqual({ reader: InstanceStatus.LIVE, stuck: InstanceStatus.STALE });

    // The reader got every transition, in order, none missing.
    const last = Number((await ops.getBreaker({ name: BREAKER })).breaker!.version);
    await eventually(() => Number(reader.transitions().at(-1)?.breaker?.version) === last, {
      what: "the reader up to date",
    });
    const versions = reader.transitions().map((t) => Number(t.breaker!.version));
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => versions[0]! + i));
    expect(versions.length).toBeGreaterThanOrEqual(forces);
    expect(reader.closed).toBe(false);

    // Nothing kept for the stuck session: the heap is back near where it was
    // (a loose bound: the queue alone held LIMIT messages; message-queue.test.ts checks it is emptied).
    const after = await heapAfterGc(p.pid);
    expect((after.heapUsed + after.external - baseline.heapUsed - baseline.external) / MiB).toBeLessThan(16);

    // When it reads again it gets what was already on the wire, then RESOURCE_EXHAUSTED:
    // reconnect for a fresh snapshot.
    const trailers = new Promise<Record<string, unknown>>((resolve) => stuck.stream.on("trailers", (t) => resolve(t)));
    stuck.stream.on("data", () => undefined);
    stuck.stream.resume();
    const t = await trailers;
    expect(t["grpc-status"]).toBe("8");
    expect(decodeURIComponent(String(t["grpc-message"]))).toBe(
      `the session fell more than ${LIMIT} messages behind: reconnect for a fresh snapshot`,
    );
  }, 90_000);

  it("lists an instance silent for 3 heartbeat intervals as stale (session still open), then drops it", async () => {
    const p = await start("defaults:\n  heartbeat_interval: 100ms\n");
    const ops = createGrpcClient(breakerV1.BreakerCoordinator, p.grpcAddress);
    cleanup.push(() => ops.close());
    const silent = new SimInstance(ops, "silent", { breakers: [BREAKER] });
    cleanup.push(() => silent.end());
    const status = async () => (await ops.listInstances({})).instances.find((i) => i.instanceId === "silent")?.status;
    await eventually(async () => (await status()) !== undefined, { what: "silent listed" });
    await eventually(async () => (await status()) === InstanceStatus.STALE, { what: "silent stale" });
    expect(silent.closed).toBe(false); // stale by silence, not by a closed session
    await eventually(async () => (await status()) === undefined, { what: "silent dropped (20 intervals)" });
    // Heard from again on the same session, it is listed live again.
    expect(silent.closed).toBe(false);
    silent.send({ case: "report", value: create(breakerV1.OutcomeReportSchema, {}) });
    await eventually(async () => (await status()) === InstanceStatus.LIVE, {
      what: "silent live again after a heartbeat",
    });
  });
});
