/**
 * Instance failover over three coordinator replicas (issue 11, client side),
 * all real processes on loopback: three single-process coordinators on the
 * same port of 127.0.0.1, .2 and .3; a cache-store process whose
 * COORDINATOR_URL lists them; two in-process breaker sessions over the gRPC
 * transport, one given the list, one a DNS name whose records are the three
 * (an injected lookup: this machine's `localhost` has one record). SIGKILL the
 * replica an instance is on: it resumes on another, without detaching, is
 * listed there and follows that replica's forced override. Kill them all: the
 * instances detach to local breakers. One back: they reattach to it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { breakerV1 } from "@breakwater/proto";
import { parseBreakerConfigFile } from "@breakwater/breaker";
import type { AttachedEvent, BreakerClient, BreakerClientEvent } from "@breakwater/breaker/session";
import { createGrpcClient, createLogger } from "@breakwater/server-kit";
import {
  eventually,
  freePort,
  runServiceToExit,
  scrapeSample,
  startServiceProcess,
  type ServiceProcess,
} from "@breakwater/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBreakerSession } from "./breaker-session.js";

const BREAKER = "s3:http://storage.failover.test:9000";
const YAML = ["defaults:", "  heartbeat_interval: 200ms", "  detach_after: 2s", "  open_jitter: 0", ""].join("\n");
const HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"] as const;
const DNS_NAME = "coordinators.failover.test";

describe("instance failover over three coordinator replicas", () => {
  let dir: string;
  let port: number;
  const replicas = new Map<string, ServiceProcess>(); // by URL
  const urlOf = (host: string) => `http://${host}:${port}`;
  let cacheStore: ServiceProcess;
  let storageBreaker: string;
  const clients: { name: string; client: BreakerClient; events: BreakerClientEvent[] }[] = [];

  const startReplica = async (host: string): Promise<void> => {
    const proc = await startServiceProcess("breaker-coordinator", {
      env: {
        COORDINATOR_HOST: host,
        COORDINATOR_PORT: String(port),
        BREAKER_CONFIG: join(dir, "breakers.yaml"),
        COORDINATOR_STATE_FILE: join(dir, `state-${host}.json`),
      },
    });
    replicas.set(urlOf(host), proc);
  };
  const ops = (url: string) => createGrpcClient(breakerV1.BreakerCoordinator, url);
  const listedOn = async (url: string, match: (i: breakerV1.Instance) => boolean): Promise<boolean> => {
    const client = ops(url);
    try {
      return (await client.listInstances({})).instances.some(match);
    } finally {
      client.close();
    }
  };
  /** The replica an in-process client's current session is on (its last attach). */
  const replicaOf = (c: (typeof clients)[number]) =>
    c.events.filter((e): e is AttachedEvent => e.type === "attached").at(-1)?.replica;
  /** The replica listing the cache-store's session. */
  const cacheStoreReplica = async (): Promise<string | undefined> => {
    for (const url of replicas.keys())
      if (await listedOn(url, (i) => i.instanceId.includes(`-${cacheStore.pid}-`))) return url;
    return undefined;
  };
  const force = async (url: string, name: string, mode: breakerV1.ForceMode) => {
    const client = ops(url);
    try {
      await client.forceBreaker({ name, mode, reason: "failover test" });
    } finally {
      client.close();
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-failover-"));
    writeFileSync(join(dir, "breakers.yaml"), YAML);
    port = await freePort();
    for (const host of HOSTS) await startReplica(host);
    cacheStore = await startServiceProcess("cache-store", {
      env: {
        COORDINATOR_URL: HOSTS.map(urlOf).join(","),
        BREAKER_CONFIG: join(dir, "breakers.yaml"),
        S3_ENDPOINT: "http://127.0.0.1:1", // never called here
        LOG_LEVEL: "info",
      },
    });
    const configured = cacheStore.output.find((l) => l.includes("storage configured"));
    storageBreaker = (JSON.parse(configured!) as { backend: string }).backend;
    const config = parseBreakerConfigFile(YAML);
    const lookup = async (name: string) => {
      if (name !== DNS_NAME) throw new Error(`getaddrinfo ENOTFOUND ${name}`);
      return HOSTS.map((address) => ({ address }));
    };
    const given = [
      { name: "listed", coordinatorUrls: HOSTS.map(urlOf) },
      { name: "dns", coordinatorUrls: [`http://${DNS_NAME}:${port}`] },
    ];
    for (const g of given) {
      const events: BreakerClientEvent[] = [];
      const client = createBreakerSession({
        coordinatorUrls: g.coordinatorUrls,
        lookup,
        service: "gateway",
        address: `${g.name}:8080`,
        breakers: [BREAKER],
        config,
        logger: createLogger({ service: "test", level: "silent" }),
        registry: new Registry(),
        gauge: { name: "test_breaker_state", help: "Breaker state" },
        onEvent: (e) => events.push(e),
      });
      clients.push({ name: g.name, client, events });
    }
    // A service starts its session once it listens: a turn of the event loop at least after creating it.
    await new Promise((resolve) => setImmediate(resolve));
    for (const c of clients) c.client.start();
    await eventually(() => clients.every((c) => c.client.connected), { what: "both sessions attached" });
    await eventually(async () => (await cacheStoreReplica()) !== undefined, { what: "the cache-store attached" });
  });

  afterAll(async () => {
    for (const c of clients) c.client.close();
    await cacheStore?.stop("SIGKILL");
    for (const proc of replicas.values())
      if (proc.child.exitCode === null && proc.child.signalCode === null) await proc.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    expect(clients.every((c) => !c.client.connected)).toBe(true);
    expect(
      [...replicas.values(), cacheStore].every((p) => p.child.exitCode !== null || p.child.signalCode !== null),
    ).toBe(true);
  });

  it("each instance is on one replica and listed there; the DNS name stands for its three records", async () => {
    for (const c of clients) {
      const url = replicaOf(c)!; // for the DNS session, one of the records: the name is no replica of its own
      // The name was looked up when the session was made: the first attempt already went to a record.
      expect(
        c.events.filter((e) => e.type === "disconnected"),
        c.name,
      ).toEqual([]);

      expect(replicas.has(url), `${c.name} on ${url}`).toBe(true);
      expect(await listedOn(url, (i) => i.address === `${c.name}:8080`)).toBe(true);
    }
  });

  it("SIGKILL the cache-store's replica: resumed on another, listed there, following its forced OPEN", async () => {
    const lost = (await cacheStoreReplica())!;
    expect(await replicas.get(lost)!.stop("SIGKILL")).toBe("SIGKILL");
    replicas.delete(lost);
    let now: string | undefined;
    await eventually(async () => (now = await cacheStoreReplica()) !== undefined, {
      timeoutMs: 10_000,
      what: "the cache-store listed on a surviving replica",
    });
    // The process logged the failover, with the time it spent without a session, and counted it.
    let line: { replica: string; withoutSessionMs: number; afterDetach: boolean } | undefined;
    await eventually(
      () => {
        const found = cacheStore.output.find((l) => l.includes('"breaker_session_failover"'));
        if (found !== undefined) line = JSON.parse(found) as typeof line;
        return line !== undefined;
      },
      { what: "the failover logged" },
    );
    console.info(`cache-store: ${lost} killed; resumed on ${line!.replica} after ${line!.withoutSessionMs} ms`);
    expect(line).toMatchObject({ replica: now, afterDetach: false });
    expect(line!.withoutSessionMs).toBeLessThan(2_000); // it never detached: another replica answered
    expect(
      await scrapeSample(cacheStore.httpUrl, "breaker_session_failover_seconds_count", { detached: "false" }),
    ).toBe(1);
    // A breaker forced OPEN on the replica it is on now reaches it.
    await force(now!, storageBreaker, breakerV1.ForceMode.OPEN);
    await eventually(
      async () =>
        (await scrapeSample(cacheStore.httpUrl, "cache_storage_breaker_state", { breaker: storageBreaker })) === 2,
      { what: "the cache-store's storage breaker open" },
    );
  });

  it("SIGKILL the replica a session is on: it resumes on the last one, without detaching, and follows it", async () => {
    const listed = clients[0]!;
    const lost = replicaOf(listed)!;
    const attachesBefore = clients.map((c) => c.events.filter((e) => e.type === "attached").length);
    expect(await replicas.get(lost)!.stop("SIGKILL")).toBe("SIGKILL");
    replicas.delete(lost);
    const [survivor] = [...replicas.keys()];
    await eventually(() => clients.every((c) => c.client.connected && replicaOf(c) === survivor), {
      timeoutMs: 10_000,
      what: `both sessions on ${survivor}`,
    });
    const resumed = listed.events.filter((e): e is AttachedEvent => e.type === "attached").at(-1)!;
    console.info(`session: ${lost} killed; resumed on ${resumed.replica} after ${resumed.withoutSessionMs} ms`);
    expect(resumed.withoutSessionMs).toBeDefined();
    expect(listed.events.some((e) => e.type === "detached")).toBe(false);
    expect(listed.events.filter((e) => e.type === "attached")).toHaveLength(attachesBefore[0]! + 1);
    for (const c of clients) expect(await listedOn(survivor!, (i) => i.address === `${c.name}:8080`)).toBe(true);
    // The DNS session is on one of the name's records, not on the name.
    expect(replicaOf(clients[1]!)).toBe(survivor);
    await force(survivor!, BREAKER, breakerV1.ForceMode.OPEN);
    await eventually(() => clients.every((c) => c.client.breaker(BREAKER).fleetView?.state === "open"), {
      what: "the forced OPEN on every session",
    });
    expect(clients.map((c) => c.client.breaker(BREAKER).admit().kind)).toEqual(["refused", "refused"]);
    await force(survivor!, BREAKER, breakerV1.ForceMode.AUTO);
    await eventually(() => clients.every((c) => c.client.breaker(BREAKER).admit().allowed), { what: "lifted" });
  });

  it("every replica gone: the instances detach and their local breakers decide alone", async () => {
    for (const [url, proc] of replicas) {
      await proc.stop("SIGKILL");
      replicas.delete(url);
    }
    await eventually(() => clients.every((c) => c.client.detached), { timeoutMs: 10_000, what: "both detached" });
    const [listed, dns] = clients.map((c) => c.client.breaker(BREAKER));
    for (let i = 0; i < 5; i++) listed!.record(false, 3);
    expect(listed!.admit()).toMatchObject({ kind: "refused", state: "open" });
    expect(dns!.admit().allowed).toBe(true);
  });

  it("one replica back: every instance reattaches to it, the detached failover counted as such", async () => {
    await startReplica(HOSTS[1]);
    const back = urlOf(HOSTS[1]);
    await eventually(() => clients.every((c) => c.client.connected && !c.client.detached && replicaOf(c) === back), {
      timeoutMs: 15_000,
      what: `both sessions on ${back}`,
    });
    for (const c of clients) {
      const last = c.events.filter((e): e is AttachedEvent => e.type === "attached").at(-1)!;
      expect(last).toMatchObject({ replica: back, afterDetach: true });
      expect(last.withoutSessionMs).toBeGreaterThanOrEqual(2_000);
    }
    await eventually(async () => (await cacheStoreReplica()) === back, { timeoutMs: 15_000, what: "cache-store back" });
    expect(await scrapeSample(cacheStore.httpUrl, "breaker_session_failover_seconds_count", { detached: "true" })).toBe(
      1,
    );
  });

  it("a bad COORDINATOR_URL entry is a configuration error: the service names it and exits 2", async () => {
    for (const app of ["cache-store", "gateway"]) {
      const { code, output } = await runServiceToExit(app, { COORDINATOR_URL: `${urlOf(HOSTS[0])}, coordinator-2` });
      expect(code, app).toBe(2);
      expect(output, app).toContain('COORDINATOR_URL="http://127.0.0.1');
      expect(output, app).toContain('"coordinator-2" is not a URL');
    }
  });
});
