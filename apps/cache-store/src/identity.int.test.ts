/**
 * CacheService under mTLS with a token file whose entries name client
 * certificates (`client_cn`, issue 13): the certificate the handshake verified
 * is the caller when no bearer token is sent, on the gRPC and the Connect port.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import * as https from "node:https";
import { cacheV1 } from "@breakwater/proto";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  createGrpcClient,
  createTransportSecurity,
  loadTlsSettings,
  type TransportSecurity,
} from "@breakwater/server-kit";
import {
  bearer,
  eventually,
  makeTestPki,
  writeTokensFile,
  type TestCertificate,
  type TestPki,
} from "@breakwater/testkit";
import {
  chunksOf,
  failure,
  putMessages,
  startCacheStoreStack,
  type CacheClient,
  type CacheStoreStack,
} from "./__fixtures__/cache-store-stack.js";

const TOKENS = [
  { name: "reports-reader", clientCn: "reporter", permissions: ["read"], buckets: ["default"] },
  { name: "loader", clientCn: "loader", permissions: ["read", "write"] },
  { name: "writer", token: "writer-secret", permissions: ["write"] },
];

describe("CacheService permissions from the mTLS client certificate (client_cn)", () => {
  let pki: TestPki;
  let stack: CacheStoreStack;
  const securities: TransportSecurity[] = [];
  const clients: CacheClient[] = [];
  const certs: Record<string, TestCertificate> = {};

  /** A CacheService client presenting `cert` (a fresh channel: each certificate its own connection). */
  function clientWith(cert: TestCertificate): CacheClient {
    const security = createTransportSecurity(
      loadTlsSettings({
        TLS_CERT_FILE: cert.cert,
        TLS_KEY_FILE: cert.key,
        TLS_CA_FILE: pki.ca,
        TLS_CLIENT_AUTH: "none",
        TLS_RELOAD_INTERVAL: 5_000,
      })!,
    );
    securities.push(security);
    const client = createGrpcClient(
      cacheV1.CacheService,
      `https://${stack.process.grpcAddress}`,
      { "grpc.use_local_subchannel_pool": 1 },
      security.channelCredentials(),
    );
    clients.push(client);
    return client;
  }
  const head = (client: CacheClient, bucket: string, headers?: Record<string, string>) =>
    failure(client.headObject({ bucket, key: "k" }, headers === undefined ? undefined : { headers }));
  const putWith = (client: CacheClient, key: string, headers?: Record<string, string>) => {
    const header = create(cacheV1.PutObjectHeaderSchema, { bucket: "default", key, contentType: "text/plain" });
    return client.putObject(
      putMessages(header, chunksOf(Buffer.from("body"))),
      headers === undefined ? undefined : { headers },
    );
  };

  beforeAll(async () => {
    pki = await makeTestPki();
    for (const cn of ["reporter", "loader", "stranger"]) certs[cn] = await pki.issue(cn);
    stack = await startCacheStoreStack({
      buckets: ["default", "other"],
      env: {
        TLS_CERT_FILE: pki.server.cert,
        TLS_KEY_FILE: pki.server.key,
        TLS_CA_FILE: pki.ca,
        TLS_CLIENT_AUTH: "require",
        BW_TOKENS_FILE: writeTokensFile(TOKENS),
        BW_TOKEN: "",
      },
    });
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of securities) s.close();
    await stack?.close();
    await pki?.remove();
  });

  it("a named certificate may do what its entry grants: read in its bucket, PERMISSION_DENIED elsewhere", async () => {
    const reporter = clientWith(certs["reporter"]!);
    expect((await head(reporter, "default")).code).toBe(Code.NotFound); // let through: the key is not there
    const other = await head(reporter, "other");
    expect([other.code, other.rawMessage]).toEqual([
      Code.PermissionDenied,
      'HeadObject is not allowed: client certificate "reports-reader" may not read in other/k',
    ]);
    expect((await failure(putWith(reporter, "r/k"))).code).toBe(Code.PermissionDenied);
    const loader = clientWith(certs["loader"]!);
    expect((await putWith(loader, "loaded")).size).toBe(4n);
  });

  it("a certificate from the CA that the file does not name is no credential: UNAUTHENTICATED", async () => {
    const stranger = clientWith(certs["stranger"]!);
    const none = await head(stranger, "default");
    expect([none.code, none.rawMessage]).toEqual([
      Code.Unauthenticated,
      "HeadObject needs a bearer token or a client certificate allowed to read in default/k " +
        '(client certificate CN "stranger" is not in the token file)',
    ]);
  });

  it("a bearer token, when sent, decides alone: the certificate is not consulted", async () => {
    const stranger = clientWith(certs["stranger"]!);
    expect((await putWith(stranger, "by-token", bearer("writer-secret"))).size).toBe(4n);
    const loader = clientWith(certs["loader"]!);
    expect((await head(loader, "default", bearer("writer-secret"))).code).toBe(Code.PermissionDenied);
    expect((await head(loader, "default", bearer("unknown"))).code).toBe(Code.Unauthenticated);
  });

  it("the Connect port (HTTPS) reads the same certificate: 404 allowed, 403, 401", async () => {
    const post = (cert: TestCertificate, bucket: string) =>
      new Promise<number>((resolve, reject) => {
        const req = https.request(
          `${stack.process.httpUrl.replace("http://", "https://")}/breakwater.cache.v1.CacheService/HeadObject`,
          {
            method: "POST",
            agent: false,
            ca: readFileSync(pki.ca),
            cert: readFileSync(cert.cert),
            key: readFileSync(cert.key),
            headers: { "content-type": "application/json" },
            timeout: 5_000,
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify({ bucket, key: "k" }));
      });
    expect(await post(certs["reporter"]!, "default")).toBe(404);
    expect(await post(certs["reporter"]!, "other")).toBe(403);
    expect(await post(certs["stranger"]!, "default")).toBe(401);
  });

  it("logs refusals with the entry's name, never a token", async () => {
    const output = () => stack.process.output.join("\n");
    await eventually(() => output().includes("reports-reader"), { what: "a refusal naming the entry" });
    expect(output()).not.toContain("writer-secret");
  });
});
