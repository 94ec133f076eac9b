import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { cacheV1 } from "@breakwater/proto";
import { createGrpcClient, grpcServiceDefinition, type GrpcClient } from "@breakwater/server-kit";
import {
  startCountingProxy,
  startS3Server,
  startServiceProcess,
  type CountingProxy,
  type S3Server,
  type ServiceProcess,
} from "@breakwater/testkit";
import { startChildServer, type ChildServer } from "../child-server.js";
import { compareSides, type Side } from "../compare.js";
import { processCpuMicros } from "../proc-cpu.js";
import { rawCaller } from "../raw-grpc-call.js";
import type { Comparison } from "../report.js";
import type { Suite } from "../suite.js";
import { benchBody, benchObjects, chunkBytes } from "../servers/bare-cache-server.js";

/** Connections per server the load is spread over. */
const channels = 4;
/** Hit throughput must reach this share of the bare grpc-js server's (issue 3). */
const target = 0.8;
/** Concurrent GetObject calls on one cold key in the stampede case. */
const stampedeCalls = 1000;
const stampedeKey = "bench/stampede.bin";

type CacheClient = GrpcClient<typeof cacheV1.CacheService>;
const definition = grpcServiceDefinition(cacheV1.CacheService);
const getObject = definition.getObject!;

/** One GetObject over one of `clients`, raw (request serialised once, answers not parsed). */
function caller(clients: readonly grpc.Client[], key: string, messages: number): (worker: number) => Promise<number> {
  return rawCaller(clients, getObject, { bucket: "default", key }, messages);
}

/** One GetObject read whole and parsed. */
async function read(
  client: CacheClient,
  key: string,
): Promise<{ status: cacheV1.CacheStatus; body: Buffer; messages: number; info?: cacheV1.ObjectInfo }> {
  let first: cacheV1.GetObjectResponse | undefined;
  const chunks: Uint8Array[] = [];
  for await (const m of client.getObject({ bucket: "default", key })) {
    first ??= m;
    chunks.push(m.chunk);
  }
  if (first === undefined) throw new Error(`GetObject ${key} answered no message`);
  return { status: first.cacheStatus, body: Buffer.concat(chunks), messages: chunks.length, info: first.info };
}

async function put(client: CacheClient, key: string, body: Buffer): Promise<cacheV1.PutObjectResponse> {
  async function* messages() {
    yield {
      part: { case: "header" as const, value: { bucket: "default", key, contentType: "application/octet-stream" } },
    };
    for (let at = 0; at < body.byteLength; at += chunkBytes)
      yield { part: { case: "chunk" as const, value: body.subarray(at, at + chunkBytes) } };
  }
  return client.putObject(messages());
}

function connect(address: string): Promise<grpc.Client[]> {
  const clients = Array.from(
    { length: channels },
    () =>
      new grpc.Client(address, grpc.credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
        "grpc.enable_retries": 0,
      }),
  );
  const deadline = Date.now() + 10_000;
  return Promise.all(
    clients.map(
      (c) =>
        new Promise<grpc.Client>((resolve, reject) =>
          c.waitForReady(deadline, (err) => (err ? reject(err) : resolve(c))),
        ),
    ),
  ).catch((err: unknown) => {
    for (const c of clients) c.close();
    throw err;
  });
}

const statusName = (s: cacheV1.CacheStatus): string => cacheV1.CacheStatus[s] ?? String(s);

/**
 * s3rver's copy lags its PutObject answer (see the cache-store's
 * test stack): wait until a cache-store read gives the bytes.
 */
async function settle(client: CacheClient, key: string, body: Buffer): Promise<void> {
  for (let waited = 0; ; waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
    // InvalidateCache first, so the read goes to s3rver.
    await client.invalidateCache({ bucket: "default", key });
    const got = await read(client, key);
    if (got.body.equals(body)) return;
    if (waited > 10_000) throw new Error(`s3rver did not serve the ${body.byteLength} bytes put to ${key}`);
  }
}

/**
 * GetObject hits on a real cache-store process (s3rver behind it) against a
 * bare grpc-js server answering the same bytes from memory; then the stampede
 * case: 1 000 concurrent reads of a cold key on a second cache-store behind a
 * counting proxy, and the S3 GETs they cost.
 */
export const cacheSuite: Suite = {
  name: "cache",
  title: "cache: GetObject hits on cache-store vs a bare grpc-js server streaming the same bytes from memory",
  async run(settings) {
    const script = fileURLToPath(new URL("../../dist/bare-cache-main.js", import.meta.url));
    let s3: S3Server | undefined;
    let proxy: CountingProxy | undefined;
    const processes: ServiceProcess[] = [];
    let bare: ChildServer | undefined;
    const typed: CacheClient[] = [];
    const raw: grpc.Client[][] = [];
    const startStore = async (endpoint: string, access: string, secret: string): Promise<ServiceProcess> => {
      const p = await startServiceProcess("cache-store", {
        env: {
          S3_ENDPOINT: endpoint,
          S3_ACCESS_KEY: access,
          S3_SECRET_KEY: secret,
          CACHE_STORE_HOST: "127.0.0.1",
          COORDINATOR_URL: "http://127.0.0.1:1",
        },
      });
      processes.push(p);
      return p;
    };
    const newClient = (address: string): CacheClient => {
      const c = createGrpcClient(cacheV1.CacheService, address, { "grpc.use_local_subchannel_pool": 1 });
      typed.push(c);
      return c;
    };
    try {
      s3 = await startS3Server();
      const store = await startStore(s3.endpoint, s3.accessKeyId, s3.secretAccessKey);
      settings.log(`  s3rver: ${s3.endpoint}; cache-store: pid ${store.pid}, ${store.grpcAddress}`);
      const client = newClient(store.grpcAddress);
      const etags: string[] = [];
      let modified = 0n;
      for (const o of benchObjects) {
        const body = benchBody(o.size);
        await put(client, o.key, body);
        await settle(client, o.key, body);
        const warm = await read(client, o.key); // cached now
        if (!warm.body.equals(body)) throw new Error(`cache-store answered ${o.key} wrongly`);
        etags.push(warm.info?.etag ?? `"${createHash("md5").update(body).digest("hex")}"`);
        modified = warm.info?.lastModified?.seconds ?? 0n;
        const hit = await read(client, o.key);
        settings.log(`  ${o.key}: ${o.size} bytes, ${hit.messages} messages, ${statusName(hit.status)}`);
        if (hit.status !== cacheV1.CacheStatus.HIT)
          throw new Error(`${o.key} read after caching says ${statusName(hit.status)}, not HIT`);
      }
      bare = await startChildServer({
        name: "bare",
        script,
        args: [`--etag=${etags.join(",")}`, `--modified=${modified}`],
        nodeArgs: settings.serverNodeArgs,
      });
      settings.log(`  bare server: pid ${bare.pid}, port ${bare.port}`);
      const bareClient = newClient(`127.0.0.1:${bare.port}`);
      raw.push(await connect(store.grpcAddress), await connect(`127.0.0.1:${bare.port}`));

      const storePid = store.pid;
      const storeCpu =
        processCpuMicros(storePid) === undefined
          ? undefined
          : () => Promise.resolve(processCpuMicros(storePid) ?? Number.NaN);
      const comparisons: Comparison[] = [];
      for (const o of benchObjects) {
        const body = benchBody(o.size);
        const messages = Math.max(1, Math.ceil(o.size / chunkBytes));
        for (const [name, c] of [
          ["cache-store", client],
          ["bare", bareClient],
        ] as const) {
          const got = await read(c, o.key);
          if (!got.body.equals(body) || got.messages !== messages || got.status !== cacheV1.CacheStatus.HIT) {
            throw new Error(
              `${name} answered ${o.key} wrongly (${got.messages} messages, ` +
                `${got.body.byteLength} bytes, ${statusName(got.status)})`,
            );
          }
        }
        const size = o.size >= 1024 * 1024 ? `${o.size / 1024 / 1024} MiB` : `${o.size / 1024} KiB`;
        const scenario = `GetObject hit ${size}`;
        const sides: Side[] = [
          { name: "bare", call: caller(raw[1]!, o.key, messages), cpuMicros: bare.cpuMicros },
          { name: "cache-store", call: caller(raw[0]!, o.key, messages), ...(storeCpu ? { cpuMicros: storeCpu } : {}) },
        ];
        comparisons.push({
          scenario,
          baseline: "bare",
          target,
          measurements: await compareSides(scenario, sides, settings),
        });
      }

      // Stampede: a second cache-store whose storage is the counting proxy in front of the same s3rver.
      proxy = await startCountingProxy(s3.endpoint);
      const cold = await startStore(proxy.url, s3.accessKeyId, s3.secretAccessKey);
      settings.log(`  stampede cache-store: pid ${cold.pid}, ${cold.grpcAddress}, storage via ${proxy.url}`);
      const body = benchBody(1024);
      await put(client, stampedeKey, body); // through the first store: the second has never seen the key
      await settle(client, stampedeKey, body);
      const coldClients = Array.from({ length: channels }, () => newClient(cold.grpcAddress));
      proxy.reset();
      const statuses = new Map<string, number>();
      let wrong = 0;
      let failed = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: stampedeCalls }, async (_, i) => {
          try {
            const got = await read(coldClients[i % coldClients.length]!, stampedeKey);
            if (!got.body.equals(body)) wrong++;
            statuses.set(statusName(got.status), (statuses.get(statusName(got.status)) ?? 0) + 1);
          } catch {
            failed++;
          }
        }),
      );
      const ms = performance.now() - started;
      const gets = proxy.count("GET", `/default/${stampedeKey}`);
      const seen = [...statuses].map(([s, n]) => `${s} ${n}`).join(", ");
      settings.log(
        `  stampede: ${stampedeCalls} concurrent GetObject on a cold key in ${ms.toFixed(0)} ms ` +
          `→ S3 GETs ${gets} (expected 1); ` +
          `statuses ${seen}; wrong bodies ${wrong}; failed ${failed}; ` +
          `all proxied requests ${JSON.stringify(proxy.counts())}`,
      );
      process.stdout.write(
        `\nStampede (${stampedeCalls} concurrent GetObject, cold key): S3 GETs ${gets} (expected 1); ` +
          `statuses ${seen}; wrong bodies ${wrong}; failed ${failed}; ` +
          `${ms.toFixed(0)} ms\n`,
      );
      if (gets !== 1 || wrong > 0 || failed > 0)
        throw new Error(`stampede: ${gets} S3 GETs, ${wrong} wrong bodies, ${failed} failed calls`);
      return comparisons;
    } finally {
      for (const list of raw) for (const c of list) c.close();
      for (const c of typed) c.close();
      await bare?.stop();
      await Promise.all(
        processes.map(async (p) => {
          const timer = setTimeout(() => p.child.kill("SIGKILL"), 3000);
          await p.stop();
          clearTimeout(timer);
        }),
      );
      await proxy?.close();
      await s3?.close();
    }
  },
};
