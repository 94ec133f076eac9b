import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { copyFile, rename } from "node:fs/promises";
import * as tls from "node:tls";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { cacheV1 } from "@breakwater/proto";
import { createGrpcClient, createTransportSecurity, loadTlsSettings } from "@breakwater/server-kit";
import {
  directS3Client,
  eventually,
  makeTestPki,
  runServiceToExit,
  startS3Server,
  startServiceProcess,
  type S3Server,
  type TestPki,
} from "@breakwater/testkit";

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});
afterAll(async () => {
  await pki?.remove();
});

describe("TLS variables that cannot work: exit 2 naming the variable (every service)", () => {
  // Functions: the PKI is made in beforeAll, after the cases are listed.
  const cases: [string, () => Record<string, string>, () => string][] = [
    ["a certificate without its key", () => ({ TLS_CERT_FILE: pki.server.cert }), () => "TLS_KEY_FILE must be too"],
    [
      "mTLS without a CA",
      () => ({ TLS_CERT_FILE: pki.server.cert, TLS_KEY_FILE: pki.server.key, TLS_CLIENT_AUTH: "require" }),
      () => "TLS_CLIENT_AUTH=require needs TLS_CA_FILE",
    ],
    [
      "an unreadable CA file",
      () => ({ TLS_CA_FILE: `${pki.dir}/missing.crt` }),
      () => `TLS_CA_FILE="${pki.dir}/missing.crt" cannot be read: ENOENT`,
    ],
  ];
  for (const app of ["cache-store", "gateway", "breaker-coordinator"]) {
    for (const [what, env, expected] of cases) {
      it(`${app}: ${what}`, async () => {
        const { code, output } = await runServiceToExit(app, env());
        expect(code).toBe(2);
        expect(output).toContain(expected());
      });
    }
  }

  it("cache-store: an unreadable S3_CA_FILE", async () => {
    const { code, output } = await runServiceToExit("cache-store", { S3_CA_FILE: "/nonexistent/ca.pem" });
    expect(code).toBe(2);
    expect(output).toContain('S3_CA_FILE="/nonexistent/ca.pem" cannot be read: ENOENT');
  });
});

describe("S3_CA_FILE: an https S3 endpoint with a private CA", () => {
  let s3: S3Server;
  let front: https.Server;
  let endpoint: string;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ["default"] });
    await directS3Client(s3).send(new PutObjectCommand({ Bucket: "default", Key: "k", Body: "private CA" }));
    // s3rver speaks plaintext: an HTTPS front with the test CA's certificate stands for MinIO with a private CA.
    const target = new URL(s3.endpoint);
    front = https.createServer(
      { cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key) },
      (req, res) => {
        const upstream = http.request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on("error", () => res.destroy());
        req.pipe(upstream);
      },
    );
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    endpoint = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    front?.closeAllConnections();
    await new Promise((resolve) => front?.close(resolve));
    await s3?.close();
  });

  /** GetObject through a cache-store with this environment: the body or "error: …", and the process's log. */
  async function readThrough(extraEnv: Record<string, string>): Promise<{ answer: string; log: string }> {
    const store = await startServiceProcess("cache-store", {
      env: {
        CACHE_STORE_HOST: "127.0.0.1",
        S3_ENDPOINT: endpoint,
        S3_ACCESS_KEY: s3.accessKeyId,
        S3_SECRET_KEY: s3.secretAccessKey,
        ...extraEnv,
      },
    });
    const client = createGrpcClient(cacheV1.CacheService, store.grpcAddress);
    try {
      const chunks: Uint8Array[] = [];
      for await (const m of client.getObject({ bucket: "default", key: "k" }, { timeoutMs: 10_000 })) {
        chunks.push(m.chunk);
      }
      return { answer: Buffer.concat(chunks).toString(), log: store.output.join("\n") };
    } catch (err) {
      return { answer: `error: ${(err as Error).message}`, log: store.output.join("\n") };
    } finally {
      client.close();
      await store.stop();
    }
  }

  it("reads through an https endpoint whose CA is S3_CA_FILE", async () => {
    expect((await readThrough({ S3_CA_FILE: pki.ca })).answer).toBe("private CA");
  });

  it("without S3_CA_FILE the private CA is not trusted", async () => {
    const { answer, log } = await readThrough({});
    expect(answer).toMatch(/^error: \[unavailable\] storage/);
    expect(log).toContain("unable to verify the first certificate");
  });
});

describe("TLS_CA_FILE alone: plaintext ports, TLS to https:// URLs", () => {
  it("a cache-store with only a CA still serves plaintext gRPC", async () => {
    const store = await startServiceProcess("cache-store", {
      env: { CACHE_STORE_HOST: "127.0.0.1", TLS_CA_FILE: pki.ca, S3_ENDPOINT: "http://127.0.0.1:1" },
    });
    const client = createGrpcClient(cacheV1.CacheService, `http://${store.grpcAddress}`);
    try {
      const stats = await client.getStats({}, { timeoutMs: 5_000 });
      expect(stats).toBeDefined();
      expect(store.output.join("\n")).toContain('"tls":"off"');
    } finally {
      client.close();
      await store.stop();
    }
  });
});

/** The subject CN a TLS port serves to a new connection (the ops client's certificate presented). */
function servedName(hostPort: string, pki: TestPki): Promise<string> {
  const [host, port] = hostPort.split(":");
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host,
        port: Number(port),
        servername: "localhost",
        ca: readFileSync(pki.ca),
        cert: readFileSync(pki.client.cert),
        key: readFileSync(pki.client.key),
        ALPNProtocols: ["h2", "http/1.1"],
      },
      () => {
        resolve(String(socket.getPeerCertificate().subject.CN));
        socket.end();
      },
    );
    socket.on("error", reject);
  });
}

describe("a cache-store's certificate files replaced while a client keeps calling", () => {
  it("new connections on both ports get the new certificate; no call fails; no restart", async () => {
    const cert = `${pki.dir}/store.crt`;
    const key = `${pki.dir}/store.key`;
    await copyFile(pki.server.cert, cert);
    await copyFile(pki.server.key, key);
    const store = await startServiceProcess("cache-store", {
      env: {
        CACHE_STORE_HOST: "127.0.0.1",
        S3_ENDPOINT: "http://127.0.0.1:1",
        TLS_CERT_FILE: cert,
        TLS_KEY_FILE: key,
        TLS_CA_FILE: pki.ca,
        TLS_CLIENT_AUTH: "require",
        TLS_RELOAD_INTERVAL: "100ms",
      },
    });
    const security = createTransportSecurity(
      loadTlsSettings({
        TLS_CERT_FILE: pki.client.cert,
        TLS_KEY_FILE: pki.client.key,
        TLS_CA_FILE: pki.ca,
        TLS_CLIENT_AUTH: "none",
        TLS_RELOAD_INTERVAL: 60_000,
      })!,
    );
    const client = createGrpcClient(
      cacheV1.CacheService,
      `https://${store.grpcAddress}`,
      {},
      security.channelCredentials(),
    );
    const httpPort = `127.0.0.1:${store.httpPort}`;
    let calls = 0;
    const failures: unknown[] = [];
    let calling = true;
    const caller = (async () => {
      while (calling) {
        try {
          await client.getStats({}, { timeoutMs: 5_000 });
          calls++;
        } catch (err) {
          failures.push(err);
        }
      }
    })();
    try {
      await eventually(() => calls > 10, { what: "GetStats over mTLS" });
      expect(await servedName(store.grpcAddress, pki)).toBe("server");
      expect(await servedName(httpPort, pki)).toBe("server");
      await copyFile(pki.serverNext.key, `${key}.new`);
      await copyFile(pki.serverNext.cert, `${cert}.new`);
      await rename(`${key}.new`, key);
      await rename(`${cert}.new`, cert);
      await eventually(async () => (await servedName(store.grpcAddress, pki)) === "server-next", {
        what: "the gRPC port serves the new certificate",
      });
      await eventually(async () => (await servedName(httpPort, pki)) === "server-next", {
        what: "the HTTPS port serves the new certificate",
      });
      await eventually(() => store.output.some((l) => l.includes("TLS certificates reloaded")), {
        what: "the reload is logged",
      });
      const before = calls;
      await eventually(() => calls > before + 10, { what: "calls go on over the same channel" });
    } finally {
      calling = false;
      await caller;
      client.close();
      security.close();
      await store.stop();
    }
    expect(failures).toEqual([]);
  });
});
