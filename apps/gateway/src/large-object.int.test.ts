import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { MiB, rssBytes } from "@breakwater/testkit";
import { sampleRss, startStack, type Stack } from "./__fixtures__/stack.js";

const SIZE = 256 * MiB;
const CHUNK = 256 * 1024;

/** Deterministic, incompressible bytes: a random block, each chunk stamped with its index. */
function chunkAt(block: Buffer, index: number): Buffer {
  const chunk = Buffer.from(block);
  chunk.writeUInt32BE(index, 0);
  chunk.writeUInt32BE(index ^ 0x5a5a5a5a, chunk.length - 4);
  return chunk;
}

/**
 * A 256 MiB object through the gateway, both ways, generated and hashed on the
 * fly: the gateway streams it (gRPC messages of ≤ 64 KiB, backpressure on
 * both sides), so its RSS grows by far less than the object.
 */
describe("a 256 MiB object through the gateway", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("PUT and GET are byte-exact (sha256) with the gateway's RSS growing by < 64 MiB", async () => {
    const gateway = stack.gateways[0]!;
    const block = randomBytes(CHUNK);
    const baseline = rssBytes(gateway.pid);

    // PUT: written chunk by chunk as the gateway takes them.
    const sent = createHash("sha256");
    const putSampler = sampleRss(gateway.pid, 20);
    const putStarted = performance.now();
    const put = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: gateway.httpPort,
          method: "PUT",
          path: "/objects/default/large/256mib.bin",
          headers: { "content-length": SIZE, "content-type": "application/octet-stream" },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      let index = 0;
      const pump = (): void => {
        while (index < SIZE / CHUNK) {
          const chunk = chunkAt(block, index++);
          sent.update(chunk);
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    const putMs = performance.now() - putStarted;
    const putRss = putSampler.stop();
    expect(put.status, put.body).toBe(200);
    expect(JSON.parse(put.body)).toMatchObject({ size: SIZE });

    // GET: hashed as it arrives, never held.
    const received = createHash("sha256");
    let bytes = 0;
    const getSampler = sampleRss(gateway.pid, 20);
    const getStarted = performance.now();
    const got = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: gateway.httpPort, path: "/objects/default/large/256mib.bin" }, (res) => {
        res.on("data", (d: Buffer) => {
          received.update(d);
          bytes += d.length;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
    const getMs = performance.now() - getStarted;
    const getRss = getSampler.stop();

    expect(got.status).toBe(200);
    expect(got.headers["content-length"]).toBe(String(SIZE));
    expect(bytes).toBe(SIZE);
    expect(received.digest("hex")).toBe(sent.digest("hex"));

    const growth = Math.max(putRss.max, getRss.max) - baseline;
    console.log(
      `256 MiB through the gateway: PUT ${(putMs / 1000).toFixed(1)} s, GET ${(getMs / 1000).toFixed(1)} s; ` +
        `gateway RSS baseline ${(baseline / MiB).toFixed(1)} MiB, peak during PUT ${(putRss.max / MiB).toFixed(1)} MiB ` +
        `(${putRss.samples} samples), during GET ${(getRss.max / MiB).toFixed(1)} MiB (${getRss.samples} samples): growth ${(growth / MiB).toFixed(1)} MiB`,
    );
    expect(growth).toBeLessThan(64 * MiB);
  }, 120_000);
});
