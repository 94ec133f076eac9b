import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as grpc from "@grpc/grpc-js";
import { cacheV1 } from "@breakwater/proto";
import { grpcServiceDefinition } from "@breakwater/server-kit";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import {
  directS3Client,
  makeTestPki,
  startS3Server,
  startServiceProcess,
  type S3Server,
  type ServiceProcess,
  type TestPki,
} from "@breakwater/testkit";
import { compareSides } from "../compare.js";
import { processCpuMicros } from "../proc-cpu.js";
import { rawCaller } from "../raw-grpc-call.js";
import type { Comparison } from "../report.js";
import type { Suite } from "../suite.js";

/** Connections per server the load is spread over. */
const channels = 4;
const getObject = grpcServiceDefinition(cacheV1.CacheService).getObject!;
const objects = [
  { key: "bench/tls-1k.bin", bytes: 1024 },
  { key: "bench/tls-64k.bin", bytes: 64 * 1024 },
];

/** One fleet of the comparison: a cache-store and a gateway over it, plaintext or under mTLS. */
interface Fleet {
  readonly name: string;
  readonly store: ServiceProcess;
  readonly gateway: ServiceProcess;
  readonly grpcCredentials: grpc.ChannelCredentials;
  /** GET of a gateway path, keep-alive; resolves once the body is read (its status must be 200). */
  readonly get: (path: string) => Promise<number>;
  close(): void;
}

function cpuOf(p: ServiceProcess): (() => Promise<number>) | undefined {
  return processCpuMicros(p.pid) === undefined ? undefined : () => Promise.resolve(processCpuMicros(p.pid) ?? NaN);
}

function connect(address: string, credentials: grpc.ChannelCredentials): Promise<grpc.Client[]> {
  const clients = Array.from(
    { length: channels },
    () => new grpc.Client(address, credentials, { "grpc.use_local_subchannel_pool": 1, "grpc.enable_retries": 0 }),
  );
  const deadline = Date.now() + 10_000;
  return Promise.all(
    clients.map(
      (c) => new Promise<grpc.Client>((ok, fail) => c.waitForReady(deadline, (err) => (err ? fail(err) : ok(c)))),
    ),
  );
}

/** How many GetObject messages the cache-store sends for `key` (the raw caller checks each call has them all). */
function messagesOf(client: grpc.Client, key: string): Promise<number> {
  const serialize = getObject.requestSerialize as (v: object) => Buffer;
  return new Promise((resolve, reject) => {
    let count = 0;
    const call = client.makeServerStreamRequest(getObject.path, serialize, (b: Buffer) => b, {
      bucket: "default",
      key,
    });
    call.on("data", () => count++);
    call.on("error", reject);
    call.on("end", () => resolve(count));
  });
}

/**
 * What transport security costs: GetObject hits on a cache-store and GET
 * hits through a gateway, plaintext against mTLS (TLS_CLIENT_AUTH=require,
 * https:// between the gateway and the cache-store), the same processes
 * otherwise, measured in the same run. No target: the figure is for
 * capacity planning (issue 13 "the cost of security is known").
 */
export const tlsSuite: Suite = {
  name: "tls",
  title: "tls: GetObject and gateway GET hits, mTLS vs plaintext (same processes, same run)",
  async run(settings) {
    let s3: S3Server | undefined;
    let pki: TestPki | undefined;
    const processes: ServiceProcess[] = [];
    const fleets: Fleet[] = [];
    const raw: grpc.Client[] = [];
    const start = async (app: string, env: Record<string, string>): Promise<ServiceProcess> => {
      const p = await startServiceProcess(app, { env: { COORDINATOR_URL: "http://127.0.0.1:1", ...env } });
      processes.push(p);
      settings.log(`  ${app}: pid ${p.pid}`);
      return p;
    };
    try {
      s3 = await startS3Server();
      pki = await makeTestPki();
      const storage = { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKeyId, S3_SECRET_KEY: s3.secretAccessKey };
      const mtls = {
        TLS_CERT_FILE: pki.server.cert,
        TLS_KEY_FILE: pki.server.key,
        TLS_CA_FILE: pki.ca,
        TLS_CLIENT_AUTH: "require",
      };
      const clientPem = {
        ca: readFileSync(pki.ca),
        cert: readFileSync(pki.client.cert),
        key: readFileSync(pki.client.key),
      };
      for (const secure of [false, true]) {
        const store = await start("cache-store", {
          ...storage,
          CACHE_STORE_HOST: "127.0.0.1",
          ...(secure ? mtls : {}),
        });
        const gateway = await start("gateway", {
          GATEWAY_HOST: "127.0.0.1",
          // Idle between scenarios longer than the default 5 s: a reused socket the gateway closed would fail.
          GATEWAY_KEEP_ALIVE_TIMEOUT: "10m",
          CACHE_STORE_URLS: `${secure ? "https" : "http"}://${store.grpcAddress}`,
          ...(secure ? mtls : {}),
        });
        const agent = secure
          ? new https.Agent({ keepAlive: true, maxSockets: settings.inFlight, ...clientPem })
          : new http.Agent({ keepAlive: true, maxSockets: settings.inFlight });
        const base = `${secure ? "https" : "http"}://127.0.0.1:${gateway.httpPort}`;
        const request = secure ? https.request : http.request;
        fleets.push({
          name: secure ? "mtls" : "plain",
          store,
          gateway,
          grpcCredentials: secure
            ? grpc.credentials.createSsl(clientPem.ca, clientPem.key, clientPem.cert)
            : grpc.credentials.createInsecure(),
          get: (path) =>
            new Promise((resolve, reject) => {
              request(`${base}${path}`, { agent }, (res) => {
                res.on("data", () => undefined);
                res.on("end", () =>
                  res.statusCode === 200 ? resolve(1) : reject(new Error(`GET ${path}: ${res.statusCode}`)),
                );
                res.on("error", reject);
              })
                .on("error", reject)
                .end();
            }),
          close: () => agent.destroy(),
        });
      }
      // Put straight into s3rver, so that both cache-stores fill their copies the same way (a read).
      const direct = directS3Client(s3);
      for (const o of objects) {
        await direct.send(new PutObjectCommand({ Bucket: "default", Key: o.key, Body: Buffer.alloc(o.bytes, "t") }));
      }
      direct.destroy();
      const clients = new Map<Fleet, grpc.Client[]>();
      for (const f of fleets) {
        const c = await connect(f.store.grpcAddress, f.grpcCredentials);
        raw.push(...c);
        clients.set(f, c);
        // Cached in each (s3rver's copy may lag its PUT answer: retried until it reads whole).
        for (const o of objects) {
          for (let tries = 0; ; tries++) {
            try {
              await f.get(`/objects/default/${o.key}`);
              break;
            } catch (err) {
              if (tries > 100) throw err;
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        }
      }
      const comparisons: Comparison[] = [];
      for (const o of objects) {
        const size = `${o.bytes / 1024} KiB`;
        // Counted per fleet on a hit (a miss may send its head and body in separate messages).
        const messages = new Map<Fleet, number>();
        for (const f of fleets) {
          await messagesOf(clients.get(f)![0]!, o.key);
          messages.set(f, await messagesOf(clients.get(f)![0]!, o.key));
        }
        const grpcScenario = `GetObject hit ${size}`;
        comparisons.push({
          scenario: grpcScenario,
          baseline: "plain",
          measurements: await compareSides(
            grpcScenario,
            fleets.map((f) => ({
              name: f.name,
              call: rawCaller(clients.get(f)!, getObject, { bucket: "default", key: o.key }, messages.get(f)!),
              ...(cpuOf(f.store) ? { cpuMicros: cpuOf(f.store)! } : {}),
            })),
            settings,
          ),
        });
        const httpScenario = `gateway GET hit ${size}`;
        comparisons.push({
          scenario: httpScenario,
          baseline: "plain",
          measurements: await compareSides(
            httpScenario,
            fleets.map((f) => ({
              name: f.name,
              call: () => f.get(`/objects/default/${o.key}`),
              ...(cpuOf(f.gateway) ? { cpuMicros: cpuOf(f.gateway)! } : {}),
            })),
            settings,
          ),
        });
      }
      return comparisons;
    } finally {
      for (const c of raw) c.close();
      for (const f of fleets) f.close();
      await Promise.all(processes.map((p) => p.stop()));
      await s3?.close();
      await pki?.remove();
    }
  },
};
