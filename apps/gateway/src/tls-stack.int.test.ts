/**
 * The whole fleet under mTLS with https:// URLs, as real processes: a
 * coordinator, two cache-stores following each other's invalidations, and a
 * gateway that learns the second cache-store from the coordinator (by its
 * host:port name, dialled with TLS because the process has TLS configured).
 * Every service has a token file whose entries name client certificates
 * (`client_cn`) and no BW_TOKEN: each call one service makes to another is
 * admitted on the certificate it presents (issue 13).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import * as https from "node:https";
import { Code, type ConnectError } from "@connectrpc/connect";
import { breakerV1, cacheV1 } from "@breakwater/proto";
import { createGrpcClient, createTransportSecurity, loadTlsSettings } from "@breakwater/server-kit";
import { createReflectionClient } from "@breakwater/server-kit/testing";
import {
  eventually,
  freePort,
  makeTestPki,
  promSample,
  startS3Server,
  startServiceProcess,
  writeTokensFile,
  type S3Server,
  type ServiceProcess,
  type TestCertificate,
  type TestPki,
} from "@breakwater/testkit";

/** Identities only: the services share the test PKI's "server" certificate, ops holds "client". */
const IDENTITIES = [
  { name: "fleet", clientCn: "server", permissions: ["read", "write", "purge"] },
  { name: "ops", clientCn: "client", permissions: ["admin"] },
  { name: "reports", clientCn: "reporter", permissions: ["read"], buckets: ["default"] },
];

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

describe("the fleet under mTLS (gateway → cache-stores → coordinator, peers)", () => {
  let pki: TestPki;

  /** An ops client's TLS: trusts the test CA, and presents the ops certificate unless told not to. */
  function opsSecurity(options: { withCertificate: boolean } = { withCertificate: true }) {
    return createTransportSecurity(
      loadTlsSettings({
        TLS_CERT_FILE: options.withCertificate ? pki.client.cert : "",
        TLS_KEY_FILE: options.withCertificate ? pki.client.key : "",
        TLS_CA_FILE: pki.ca,
        TLS_CLIENT_AUTH: "none",
        TLS_RELOAD_INTERVAL: 5_000,
      })!,
    );
  }
  let s3: S3Server;
  const processes: ServiceProcess[] = [];
  let coordinator: ServiceProcess;
  let stores: ServiceProcess[];
  let gateway: ServiceProcess;
  let clientTls: https.RequestOptions;
  const tlsOf = (cert: TestCertificate): https.RequestOptions => ({
    ca: readFileSync(pki.ca),
    cert: readFileSync(cert.cert),
    key: readFileSync(cert.key),
  });

  /** One HTTPS request with the ops client's certificate unless `tls` says otherwise. */
  function call(url: string, method = "GET", body?: string, tls: https.RequestOptions = clientTls): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, agent: false, ...tls, timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
  }
  const httpsUrl = (p: ServiceProcess): string => p.httpUrl.replace("http://", "https://");
  const metric = async (p: ServiceProcess, name: string, labels: Record<string, string> = {}) =>
    promSample((await call(`${httpsUrl(p)}/metrics`)).body.toString(), name, labels);

  beforeAll(async () => {
    pki = await makeTestPki();
    clientTls = {
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.client.cert),
      key: readFileSync(pki.client.key),
    };
    const mtls = {
      TLS_CERT_FILE: pki.server.cert,
      TLS_KEY_FILE: pki.server.key,
      TLS_CA_FILE: pki.ca,
      TLS_CLIENT_AUTH: "require",
      BW_TOKENS_FILE: writeTokensFile(IDENTITIES),
      BW_TOKEN: "",
      BW_ADMIN_TOKEN: "",
    };
    s3 = await startS3Server({ buckets: ["default"] });
    coordinator = await startServiceProcess("breaker-coordinator", {
      env: { ...mtls, COORDINATOR_HOST: "127.0.0.1", COORDINATOR_STATE_FILE: `${pki.dir}/coordinator-state.json` },
    });
    processes.push(coordinator);
    const coordinatorUrl = `https://${coordinator.grpcAddress}`;
    const ports = [await freePort(), await freePort()];
    stores = [];
    for (const [i, port] of ports.entries()) {
      const store = await startServiceProcess("cache-store", {
        env: {
          ...mtls,
          CACHE_STORE_HOST: "127.0.0.1",
          CACHE_STORE_PORT: String(port),
          CACHE_STORE_PEERS: `https://127.0.0.1:${ports[1 - i]}`,
          COORDINATOR_URL: coordinatorUrl,
          S3_ENDPOINT: s3.endpoint,
          S3_ACCESS_KEY: s3.accessKeyId,
          S3_SECRET_KEY: s3.secretAccessKey,
          SHUTDOWN_GRACE_MS: "500",
        },
      });
      stores.push(store);
      processes.push(store);
      expect(store.output.join("\n")).toContain('"tls":"mtls"');
    }
    gateway = await startServiceProcess("gateway", {
      env: {
        ...mtls,
        GATEWAY_HOST: "127.0.0.1",
        // Only the first by URL: the second comes from the coordinator as "127.0.0.1:<port>".
        CACHE_STORE_URLS: `https://${stores[0]!.grpcAddress}`,
        CACHE_STORE_MEMBERSHIP: "coordinator",
        COORDINATOR_URL: coordinatorUrl,
      },
    });
    processes.push(gateway);
  }, 120_000);

  afterAll(async () => {
    for (const p of processes.reverse()) await p.stop(); // no-ops for those the last test stopped
    await s3?.close();
    await pki?.remove();
  });

  it("every session reaches the coordinator, and an ops client with a certificate lists them", async () => {
    const security = opsSecurity();
    const ops = createGrpcClient(
      breakerV1.BreakerCoordinator,
      `https://${coordinator.grpcAddress}`,
      {},
      security.channelCredentials(),
    );
    try {
      await eventually(
        async () => {
          const { instances } = await ops.listInstances({});
          const live = instances.filter((i) => i.status === breakerV1.InstanceStatus.LIVE);
          return (
            live.filter((i) => i.service === "cache-store").length === 2 && live.some((i) => i.service === "gateway")
          );
        },
        { what: "two cache-stores and the gateway hold live sessions over mTLS", timeoutMs: 20_000 },
      );
    } finally {
      ops.close();
      security.close();
    }
  });

  it("the replicas follow each other's invalidations over https:// peer URLs", async () => {
    for (const [i, store] of stores.entries()) {
      const peer = `https://${stores[1 - i]!.grpcAddress}`;
      await eventually(async () => (await metric(store, "cache_peer_invalidation_stream_live", { peer })) === 1, {
        what: `cache-store ${i} follows ${peer}`,
        timeoutMs: 20_000,
      });
    }
  });

  it("the gateway learns the second cache-store by host:port and serves writes and reads over HTTPS", async () => {
    await eventually(async () => (await metric(gateway, "gateway_cache_store_members")) === 2, {
      what: "the gateway has both cache-stores",
      timeoutMs: 20_000,
    });
    // The learnt member ("127.0.0.1:<port>", no scheme) is dialled with TLS: its invalidation stream is live.
    await eventually(
      async () =>
        (await metric(gateway, "gateway_invalidation_stream_live", { upstream: stores[1]!.grpcAddress })) === 1,
      { what: "the gateway's stream from the cache-store it knows by host:port is live", timeoutMs: 20_000 },
    );
    const base = `${httpsUrl(gateway)}/objects/default`;
    // Enough keys that both cache-stores own some: each is called over mTLS.
    for (let i = 0; i < 16; i++) {
      expect((await call(`${base}/tls-${i}`, "PUT", `body ${i}`)).status).toBe(200);
    }
    for (let i = 0; i < 16; i++) {
      const got = await call(`${base}/tls-${i}`);
      expect(got.status).toBe(200);
      expect(got.body.toString()).toBe(`body ${i}`);
    }
    // Every call went to the key's owner: none had to fall back because an owner was unreachable.
    // (prom-client shows a labelled counter only once counted.)
    expect((await metric(gateway, "gateway_upstream_requests_total", { route: "fallback" })) ?? 0).toBe(0);
    expect(await metric(gateway, "gateway_upstream_requests_total", { route: "owner" })).toBeGreaterThan(0);
    // Each cache-store served some of them (owners by key): both were dialled with mTLS.
    for (const store of stores) {
      const text = (await call(`${httpsUrl(store)}/metrics`)).body.toString();
      const gets = text.split("\n").filter((l) => l.startsWith("rpc_server_calls_total") && l.includes("GetObject"));
      expect(gets.reduce((sum, l) => sum + Number(l.split(" ").pop()), 0)).toBeGreaterThan(0);
    }
  });

  it("a cache-store forwards reads to the key's owner on its own certificate", async () => {
    const security = opsSecurity();
    const store = createGrpcClient(
      cacheV1.CacheService,
      `https://${stores[0]!.grpcAddress}`,
      {},
      security.channelCredentials(),
    );
    try {
      const routes: cacheV1.ReadRoute[] = [];
      for (let i = 0; i < 16; i++) {
        const chunks: Uint8Array[] = [];
        for await (const m of store.getObject({ bucket: "default", key: `tls-${i}` })) {
          if (chunks.length === 0) routes.push(m.route);
          chunks.push(m.chunk);
        }
        expect(Buffer.concat(chunks).toString()).toBe(`body ${i}`);
      }
      // The keys the other cache-store owns came through it: cache-store → owner on the "fleet" identity.
      expect(routes).toContain(cacheV1.ReadRoute.FORWARDED);
    } finally {
      store.close();
      security.close();
    }
  });

  it("the gateway admits callers by certificate: scoped read, 403 outside it, 401 for an unnamed one", async () => {
    const base = `${httpsUrl(gateway)}/objects/default`;
    expect((await call(`${base}/by-ops`, "PUT", "ops wrote this")).status).toBe(200);
    const reporter = tlsOf(await pki.issue("reporter"));
    const read = await call(`${base}/by-ops`, "GET", undefined, reporter);
    expect([read.status, read.body.toString()]).toEqual([200, "ops wrote this"]);
    const put = await call(`${base}/by-reporter`, "PUT", "x", reporter);
    expect([put.status, JSON.parse(put.body.toString()).code]).toEqual([403, "permission_denied"]);
    const stranger = tlsOf(await pki.issue("stranger"));
    expect((await call(`${base}/by-ops`, "GET", undefined, stranger)).status).toBe(401);
    // The services called each other on their certificates alone: no cache-store or coordinator refused one.
    for (const p of [...stores, coordinator]) expect(p.output.join("\n")).not.toContain("refused a call");
  });

  // docs/operations.md "Recipes under mTLS": its grpcurl lines, made as grpcurl does (reflection, JSON) with the
  // same files (-cacert ca -cert ops -key ops) and no token: the ops certificate is the "ops" entry here.
  it("the docs' grpcurl recipes under mTLS, by reflection with the ops certificate", async () => {
    const security = opsSecurity();
    const store = createReflectionClient(stores[0]!.grpcAddress, "v1", security.channelCredentials());
    const coord = createReflectionClient(coordinator.grpcAddress, "v1", security.channelCredentials());
    try {
      expect(await store.listServices()).toContain("breakwater.cache.v1.CacheService"); // grpcurl $TLS … list
      expect(await store.invokeJson("grpc.health.v1.Health", "Check", {})).toEqual({ status: "SERVING" });
      const stats = (await store.invokeJson("breakwater.cache.v1.CacheService", "GetStats", {})) as object;
      expect(stats).toHaveProperty("maxBytes");
      const listed = (await coord.invokeJson("breakwater.breaker.v1.BreakerCoordinator", "ListInstances", {})) as {
        instances?: unknown[];
      };
      expect(listed.instances?.length).toBeGreaterThanOrEqual(3);
    } finally {
      store.close();
      coord.close();
      security.close();
    }
  });

  it("refuses at the handshake a client without a certificate, and plaintext", async () => {
    const anonymous = call(`${httpsUrl(gateway)}/healthz`, "GET", undefined, { ca: clientTls.ca });
    await expect(anonymous).rejects.toThrow();
    await expect(fetch(`${gateway.httpUrl}/healthz`)).rejects.toThrow();
    const security = opsSecurity({ withCertificate: false });
    const ops = createGrpcClient(
      breakerV1.BreakerCoordinator,
      `https://${coordinator.grpcAddress}`,
      {},
      security.channelCredentials(),
    );
    try {
      const err = await ops.listInstances({}, { timeoutMs: 3_000 }).then(
        () => undefined,
        (e: unknown) => e as ConnectError,
      );
      expect(err?.code).toBe(Code.Unavailable);
    } finally {
      ops.close();
      security.close();
    }
  });

  it("every process shuts down cleanly on SIGTERM over its TLS ports (exit 0)", async () => {
    for (const p of [gateway, ...stores, coordinator]) expect(await p.stop()).toBe(0);
  });
});
