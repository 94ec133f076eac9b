import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { cacheV1 } from "@breakwater/proto";
import { createOwnerOrder } from "@breakwater/cache";
import { createGrpcClient } from "@breakwater/server-kit";
import {
  directS3Client,
  eventually,
  freePort,
  startCountingProxy,
  startOtlpReceiver,
  startS3Server,
  startServiceProcess,
  type CountingProxy,
  type OtlpReceiver,
  type ReceivedSpan,
  type S3Server,
  type ServiceProcess,
} from "@breakwater/testkit";

const SERVER = 2;
const CLIENT = 3;
const GET_OBJECT = "breakwater.cache.v1.CacheService/GetObject";

/** GET through the gateway; answers status and body. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The JSON log lines of a process. */
function jsonLines(p: ServiceProcess): Record<string, unknown>[] {
  return p.output.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The JSON log lines of a process that carry `traceId`. */
function linesOfTrace(p: ServiceProcess, traceId: string): Record<string, unknown>[] {
  return jsonLines(p).filter((l) => l.trace_id === traceId);
}

/**
 * One GET that misses everywhere, followed across the hops: the gateway's
 * server span, its CacheService call to replica A (a non-owner of the key),
 * A's forwarded call to the key's owner B, and B's S3 GET, all in one trace,
 * exported by each process over OTLP/HTTP protobuf to a receiver in this
 * test that decodes the real payload.
 */
describe("traces across the hops (gateway → cache-store → owner → S3)", () => {
  let s3: S3Server;
  let proxy: CountingProxy;
  let receiver: OtlpReceiver;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let gateway: ServiceProcess;
  const started: ServiceProcess[] = [];
  /** Keys that replica B owns, so that A (the gateway's only upstream) forwards them. */
  const keys: string[] = [];
  const body = Buffer.from("traced object body\n");

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ["default"] });
    proxy = await startCountingProxy(s3.endpoint);
    receiver = await startOtlpReceiver();
    const [portA, portB] = [await freePort(), await freePort()];
    const names = [`127.0.0.1:${portA}`, `127.0.0.1:${portB}`];
    const owners = createOwnerOrder(names);
    for (let i = 0; keys.length < 3; i++)
      if (owners.owner("default", `traced-${i}`) === names[1]) keys.push(`traced-${i}`);
    const direct = directS3Client(s3);
    for (const key of keys) await direct.send(new PutObjectCommand({ Bucket: "default", Key: key, Body: body }));
    direct.destroy();
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "50",
      LOG_LEVEL: "debug",
    };
    const replica = (port: number, peer: number): Record<string, string> => ({
      CACHE_STORE_HOST: "127.0.0.1",
      CACHE_STORE_PORT: String(port),
      CACHE_STORE_PEERS: `http://127.0.0.1:${peer}`,
      S3_ENDPOINT: proxy.url,
      S3_ACCESS_KEY: s3.accessKeyId,
      S3_SECRET_KEY: s3.secretAccessKey,
      SHUTDOWN_GRACE_MS: "500",
      ...otel,
    });
    // B keeps the default service.name ("cache-store"); A's comes from OTEL_SERVICE_NAME.
    b = await startServiceProcess("cache-store", { env: replica(portB, portA) });
    started.push(b);
    a = await startServiceProcess("cache-store", {
      env: { ...replica(portA, portB), OTEL_SERVICE_NAME: "cache-store-a" },
    });
    started.push(a);
    gateway = await startServiceProcess("gateway", { env: { CACHE_STORE_URLS: `http://${names[0]}`, ...otel } });
    started.push(gateway);
  });

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await receiver?.close();
    await proxy?.close();
    await s3?.close();
  });

  /** The spans of the trace whose gateway span is the GET of `key`, once the whole chain has arrived. */
  async function traceOf(key: string): Promise<{ root: ReceivedSpan; spans: ReceivedSpan[] }> {
    let found: { root: ReceivedSpan; spans: ReceivedSpan[] } | undefined;
    await eventually(
      () => {
        const root = receiver.spans.find((s) => s.service === "gateway" && s.attributes["url.path"] === path(key));
        expect(root, "the gateway's span of the request").toBeDefined();
        const spans = receiver.spans.filter((s) => s.traceId === root!.traceId);
        expect(
          spans.filter((s) => s.name === "s3.get"),
          "the owner's S3 GET",
        ).toHaveLength(1);
        expect(spans, "gateway, its call, A, A's call, B, S3").toHaveLength(6);
        found = { root: root!, spans };
        return true;
      },
      { timeoutMs: 10_000, what: `the trace of GET ${path(key)}` },
    );
    return found!;
  }
  const path = (key: string): string => `/objects/default/${key}`;

  it("puts the gateway, both replicas and the S3 call in one trace, each span a child of the hop before", async () => {
    const answer = await get(`${gateway.httpUrl}${path(keys[0]!)}`);
    expect(answer.status).toBe(200);
    expect(answer.body.equals(body)).toBe(true);

    const { root, spans } = await traceOf(keys[0]!);
    expect(receiver.rejected).toEqual([]);
    expect(root).toMatchObject({ name: "GET /objects/{bucket}/{key}", kind: SERVER, parentSpanId: "" });
    expect(root.attributes).toMatchObject({ "http.request.method": "GET", "http.response.status_code": 200 });
    const childOf = (parent: ReceivedSpan, service: string, kind: number, name: string): ReceivedSpan => {
      const child = spans.find((s) => s.parentSpanId === parent.spanId && s.service === service && s.kind === kind);
      expect(child, `${service} ${name} under ${parent.service} ${parent.name}`).toBeDefined();
      expect(child!.name).toBe(name);
      return child!;
    };
    const gatewayCall = childOf(root, "gateway", CLIENT, GET_OBJECT);
    const atA = childOf(gatewayCall, "cache-store-a", SERVER, GET_OBJECT);
    const forwarded = childOf(atA, "cache-store-a", CLIENT, GET_OBJECT);
    const atB = childOf(forwarded, "cache-store", SERVER, GET_OBJECT);
    const s3Get = childOf(atB, "cache-store", CLIENT, "s3.get");
    expect(atB.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.method": "GetObject",
      "rpc.grpc.status_code": 0,
    });
    expect(s3Get.attributes).toMatchObject({
      "breakwater.storage.backend": `s3:${proxy.url}`,
      "breakwater.storage.operation": "get",
      "breakwater.storage.outcome": "ok",
      "breakwater.key": keys[0],
    });

    // The S3 request itself carried the storage span's context.
    const toS3 = proxy.requests.filter((r) => r.method === "GET" && r.path === `/default/${keys[0]}`);
    expect(toS3).toHaveLength(1);
    expect(toS3[0]!.headers.traceparent).toBe(`00-${root.traceId}-${s3Get.spanId}-01`);

    // Each process logged lines of this request, and they carry its trace id (and their span's id).
    for (const [p, spanIds] of [
      [gateway, [root.spanId]],
      [a, [atA.spanId]],
      [b, [atB.spanId, s3Get.spanId]],
    ] as const) {
      const lines = linesOfTrace(p, root.traceId);
      expect(lines.length, `${p.app} pid ${p.pid}: lines with trace_id ${root.traceId}`).toBeGreaterThan(0);
      for (const line of lines) expect(spanIds).toContain(line.span_id);
    }
    expect(linesOfTrace(gateway, root.traceId).map((l) => l.msg)).toContain("object request answered upstream");
    expect(linesOfTrace(b, root.traceId)).toContainEqual(expect.objectContaining({ msg: "rpc", code: "OK" }));
    // Every line written for a request carries a trace id: each replica's GetObject lines, the gateway's per key.
    for (const p of [a, b]) {
      const calls = jsonLines(p).filter((l) => l.method === `/${GET_OBJECT}`);
      expect(calls.length).toBeGreaterThan(0);
      for (const line of calls) expect(line.trace_id, JSON.stringify(line)).toMatch(/^[0-9a-f]{32}$/);
    }
    for (const line of jsonLines(gateway).filter((l) => l.key !== undefined)) {
      expect(line.trace_id, JSON.stringify(line)).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it("continues a client's trace: same trace id, the gateway's span a child of the client's", async () => {
    const traceId = randomBytes(16).toString("hex");
    const clientSpanId = randomBytes(8).toString("hex");
    const answer = await get(`${gateway.httpUrl}${path(keys[1]!)}`, {
      traceparent: `00-${traceId}-${clientSpanId}-01`,
      tracestate: "client=1",
    });
    expect(answer.status).toBe(200);

    const { root, spans } = await traceOf(keys[1]!);
    expect(root.traceId).toBe(traceId);
    expect(root.parentSpanId).toBe(clientSpanId);
    // The client's tracestate went along every hop, down to the S3 request.
    const toS3 = proxy.requests.filter((r) => r.method === "GET" && r.path === `/default/${keys[1]}`);
    expect(toS3.map((r) => [String(r.headers.traceparent).slice(3, 35), r.headers.tracestate])).toEqual([
      [traceId, "client=1"],
    ]);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(["gateway", "cache-store-a", "cache-store"]));
    expect(linesOfTrace(b, traceId).length).toBeGreaterThan(0);
  });

  it("exports a process's last spans when it is stopped (SIGTERM flushes the SDK)", async () => {
    // A replica that would hold spans for ten minutes before an export: only the shutdown sends them.
    const lone = await startServiceProcess("cache-store", {
      env: {
        CACHE_STORE_HOST: "127.0.0.1",
        S3_ENDPOINT: proxy.url,
        S3_ACCESS_KEY: s3.accessKeyId,
        S3_SECRET_KEY: s3.secretAccessKey,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: "cache-store-lone",
        OTEL_BSP_SCHEDULE_DELAY: "600000",
      },
    });
    started.push(lone);
    const client = createGrpcClient(cacheV1.CacheService, `http://${lone.grpcAddress}`);
    try {
      const info = await client.headObject({ bucket: "default", key: keys[2]! });
      expect(info.info?.size).toBe(BigInt(body.byteLength));
    } finally {
      client.close();
    }
    expect(receiver.spans.filter((s) => s.service === "cache-store-lone")).toEqual([]);
    expect(await lone.stop()).toBe(0);
    const names = receiver.spans.filter((s) => s.service === "cache-store-lone").map((s) => s.name);
    expect(names).toContain("breakwater.cache.v1.CacheService/HeadObject");
    expect(names).toContain("s3.head");
  });
});
