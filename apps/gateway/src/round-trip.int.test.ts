import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { cacheV1 } from "@breakwater/proto";
import { createGrpcClient } from "@breakwater/server-kit";
import { createReflectionClient } from "@breakwater/server-kit/testing";
import { directS3Client, startS3Server, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";

type S3 = Awaited<ReturnType<typeof startS3Server>>;

describe("round trip through real processes: gateway → cache-store → S3", () => {
  let s3: S3;
  let cacheStore: ServiceProcess;
  let gateway: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ["default"] });
    cacheStore = await startServiceProcess("cache-store", {
      env: { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKeyId, S3_SECRET_KEY: s3.secretAccessKey },
    });
    gateway = await startServiceProcess("gateway", { env: { CACHE_STORE_URLS: `http://${cacheStore.grpcAddress}` } });
    base = `${gateway.httpUrl}/objects/default`;
  });
  afterAll(async () => {
    await gateway?.stop();
    await cacheStore?.stop();
    await s3?.close();
  });

  it("PUT then GET returns the same bytes, Content-Type, Content-Length, ETag, Last-Modified; S3 has it", async () => {
    const body = randomBytes(300_000);
    const put = await fetch(`${base}/a/b.txt`, { method: "PUT", body, headers: { "content-type": "text/plain" } });
    expect(put.status).toBe(200);
    const etag = put.headers.get("etag");
    expect(etag).toMatch(/^"[^"]+"$/);

    const get = await fetch(`${base}/a/b.txt`);
    expect(get.status).toBe(200);
    expect(get.headers.get("content-type")).toBe("text/plain");
    expect(get.headers.get("content-length")).toBe(String(body.length));
    expect(get.headers.get("etag")).toBe(etag);
    expect(Date.parse(get.headers.get("last-modified") ?? "")).not.toBeNaN();
    expect(Buffer.from(await get.arrayBuffer()).equals(body)).toBe(true);

    const direct = directS3Client(s3);
    const stored = await direct.send(new GetObjectCommand({ Bucket: "default", Key: "a/b.txt" }));
    expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(body)).toBe(true);
    direct.destroy();
  });

  it("HEAD answers the headers without a body; DELETE answers 204 and the object is gone", async () => {
    await fetch(`${base}/gone.txt`, { method: "PUT", body: "bye" });
    const head = await fetch(`${base}/gone.txt`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("3");
    expect((await fetch(`${base}/gone.txt`, { method: "DELETE" })).status).toBe(204);
    const missing = await fetch(`${base}/gone.txt`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "not_found" });
  });

  it("serves the same CacheService code to a grpc-js client and to Connect JSON (curl)", async () => {
    await fetch(`${base}/both.txt`, { method: "PUT", body: "same code" });
    const grpc = createGrpcClient(cacheV1.CacheService, cacheStore.grpcAddress);
    const viaGrpc = await grpc.headObject({ bucket: "default", key: "both.txt" });
    grpc.close();
    const res = await fetch(`${cacheStore.httpUrl}/breakwater.cache.v1.CacheService/HeadObject`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ bucket: "default", key: "both.txt" }),
    });
    expect(res.status).toBe(200);
    const viaJson = (await res.json()) as { info: { etag: string; size: string } };
    expect(viaJson.info.etag).toBe(viaGrpc.info?.etag);
    expect(viaJson.info.size).toBe("9");

    const connect = createClient(
      cacheV1.CacheService,
      createConnectTransport({ baseUrl: cacheStore.httpUrl, httpVersion: "1.1" }),
    );
    const chunks: Uint8Array[] = [];
    for await (const m of connect.getObject({ bucket: "default", key: "both.txt" })) chunks.push(m.chunk);
    expect(Buffer.concat(chunks).toString()).toBe("same code");
  });

  it("lists CacheService by reflection v1 and v1alpha", async () => {
    for (const version of ["v1", "v1alpha"] as const) {
      const reflection = createReflectionClient(cacheStore.grpcAddress, version);
      expect((await reflection.listServices()).sort()).toEqual([
        "breakwater.cache.v1.CacheService",
        "grpc.health.v1.Health",
      ]);
      const files = await reflection.fileContainingSymbol("breakwater.cache.v1.CacheService");
      expect(files.map((f) => f.name)).toEqual(
        expect.arrayContaining(["breakwater/cache/v1/cache.proto", "google/protobuf/timestamp.proto"]),
      );
      reflection.close();
    }
  });
});
