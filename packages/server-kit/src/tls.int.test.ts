import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { copyFile, rename } from "node:fs/promises";
import * as https from "node:https";
import * as tls from "node:tls";
import { pino } from "pino";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import { healthV1 } from "@breakwater/proto";
import { eventually, makeTestPki, type TestCertificate, type TestPki } from "@breakwater/testkit";
import { createServiceServer, type ServiceServer } from "./service-server.js";
import { createGrpcClient } from "./grpc-client.js";
import { loadTlsSettings, type TlsConfig } from "./tls-config.js";
import { createTransportSecurity, type TransportSecurity } from "./transport-security.js";

const { HealthCheckResponse_ServingStatus: Serving } = healthV1;
const silent = pino({ level: "silent" });

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});
afterAll(async () => {
  await pki?.remove();
});

function tlsVars(vars: Partial<TlsConfig>): TlsConfig {
  return {
    TLS_CERT_FILE: "",
    TLS_KEY_FILE: "",
    TLS_CA_FILE: "",
    TLS_CLIENT_AUTH: "none",
    TLS_RELOAD_INTERVAL: 50,
    ...vars,
  };
}

/** A process's transport security from its variables. */
function securityOf(vars: Partial<TlsConfig>): TransportSecurity {
  return createTransportSecurity(loadTlsSettings(tlsVars(vars))!);
}

async function startServer(
  security: TransportSecurity,
): Promise<{ server: ServiceServer; grpc: string; http: string }> {
  const server = createServiceServer({
    name: "tls-test",
    services: [],
    logger: silent,
    grpcPort: 0,
    httpPort: 0,
    host: "127.0.0.1",
    shutdownGraceMs: 2_000,
    security,
  });
  const { grpcPort, httpPort } = await server.listen();
  return { server, grpc: `https://127.0.0.1:${grpcPort}`, http: `https://127.0.0.1:${httpPort}` };
}

/** One health check over a fresh channel with the given credentials; answers the gRPC code. */
async function healthCode(url: string, credentials: grpc.ChannelCredentials): Promise<Code | "ok"> {
  const client = createGrpcClient(healthV1.Health, url, { "grpc.use_local_subchannel_pool": 1 }, credentials);
  try {
    const res = await client.check({ service: "" }, { timeoutMs: 3_000 });
    expect(res.status).toBe(Serving.SERVING);
    return "ok";
  } catch (err) {
    return (err as ConnectError).code;
  } finally {
    client.close();
  }
}

/** GET /healthz with node:https; answers the status or the error's code/message. */
function httpsHealthz(url: string, options: https.RequestOptions): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.get(`${url}/healthz`, { ...options, agent: false, timeout: 3_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** The certificate a TLS port serves to a new connection (its subject CN). */
function servedCertificate(url: string, ca: string, client?: TestCertificate): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host: hostname,
        port: Number(port),
        ca: readPem(ca),
        ...(client ? { cert: readPem(client.cert), key: readPem(client.key) } : {}),
        servername: "localhost",
        ALPNProtocols: ["h2", "http/1.1"],
      },
      () => {
        const cn = socket.getPeerCertificate().subject.CN;
        socket.end();
        resolve(Array.isArray(cn) ? cn.join(",") : String(cn));
      },
    );
    socket.on("error", reject);
  });
}

const readPem = (path: string): Buffer => readFileSync(path);

describe("TLS on both ports (TLS_CLIENT_AUTH=none)", () => {
  let security: TransportSecurity;
  let ports: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    security = securityOf({ TLS_CERT_FILE: pki.server.cert, TLS_KEY_FILE: pki.server.key });
    ports = await startServer(security);
  });
  afterAll(async () => {
    await ports?.server.shutdown();
  });

  it("serves gRPC to a client trusting its CA, and HTTPS", async () => {
    const client = securityOf({ TLS_CA_FILE: pki.ca });
    expect(await healthCode(ports.grpc, client.channelCredentials())).toBe("ok");
    expect(await httpsHealthz(ports.http, { ca: readPem(pki.ca) })).toBe(200);
    client.close();
  });

  it("refuses a plaintext client on the gRPC port and on the HTTP port", async () => {
    expect(await healthCode(ports.grpc.replace("https", "http"), grpc.credentials.createInsecure())).toBe(
      Code.Unavailable,
    );
    const plain = await fetch(`${ports.http.replace("https", "http")}/healthz`).then(
      (r) => r.status,
      (err: Error) => err.name,
    );
    expect(plain).not.toBe(200);
  });

  it("refuses, at the client, a server whose certificate another CA signed (wrong CA)", async () => {
    const trustsOther = securityOf({ TLS_CA_FILE: pki.otherCa });
    expect(await healthCode(ports.grpc, trustsOther.channelCredentials())).toBe(Code.Unavailable);
    expect(await httpsHealthz(ports.http, { ca: readPem(pki.otherCa) })).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    trustsOther.close();
  });
});

describe("mTLS (TLS_CLIENT_AUTH=require)", () => {
  let ports: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    ports = await startServer(
      securityOf({
        TLS_CERT_FILE: pki.server.cert,
        TLS_KEY_FILE: pki.server.key,
        TLS_CA_FILE: pki.ca,
        TLS_CLIENT_AUTH: "require",
      }),
    );
  });
  afterAll(async () => {
    await ports?.server.shutdown();
  });

  it("serves a client presenting a certificate from TLS_CA_FILE (gRPC and HTTPS)", async () => {
    const client = securityOf({ TLS_CERT_FILE: pki.client.cert, TLS_KEY_FILE: pki.client.key, TLS_CA_FILE: pki.ca });
    expect(await healthCode(ports.grpc, client.channelCredentials())).toBe("ok");
    const ca = readPem(pki.ca);
    expect(await httpsHealthz(ports.http, { ca, cert: readPem(pki.client.cert), key: readPem(pki.client.key) })).toBe(
      200,
    );
    client.close();
  });

  it("refuses a client without a certificate at the handshake (gRPC and HTTPS)", async () => {
    const anonymous = securityOf({ TLS_CA_FILE: pki.ca });
    expect(await healthCode(ports.grpc, anonymous.channelCredentials())).toBe(Code.Unavailable);
    expect(await httpsHealthz(ports.http, { ca: readPem(pki.ca) })).not.toBe(200);
    anonymous.close();
  });

  it("refuses a client certificate from another CA (gRPC and HTTPS)", async () => {
    const foreign = securityOf({
      TLS_CERT_FILE: pki.otherServer.cert,
      TLS_KEY_FILE: pki.otherServer.key,
      TLS_CA_FILE: pki.ca,
    });
    expect(await healthCode(ports.grpc, foreign.channelCredentials())).toBe(Code.Unavailable);
    const [cert, key] = [readPem(pki.otherServer.cert), readPem(pki.otherServer.key)];
    expect(await httpsHealthz(ports.http, { ca: readPem(pki.ca), cert, key })).not.toBe(200);
    foreign.close();
  });

  it("refuses an expired client certificate (gRPC and HTTPS)", async () => {
    const expired = securityOf({ TLS_CERT_FILE: pki.expired.cert, TLS_KEY_FILE: pki.expired.key, TLS_CA_FILE: pki.ca });
    expect(await healthCode(ports.grpc, expired.channelCredentials())).toBe(Code.Unavailable);
    const [cert, key] = [readPem(pki.expired.cert), readPem(pki.expired.key)];
    expect(await httpsHealthz(ports.http, { ca: readPem(pki.ca), cert, key })).not.toBe(200);
    expired.close();
  });
});

describe("an expired server certificate", () => {
  it("is refused by clients (gRPC and HTTPS)", async () => {
    const ports = await startServer(securityOf({ TLS_CERT_FILE: pki.expired.cert, TLS_KEY_FILE: pki.expired.key }));
    try {
      const client = securityOf({ TLS_CA_FILE: pki.ca });
      expect(await healthCode(ports.grpc, client.channelCredentials())).toBe(Code.Unavailable);
      expect(await httpsHealthz(ports.http, { ca: readPem(pki.ca) })).toBe("CERT_HAS_EXPIRED");
      client.close();
    } finally {
      await ports.server.shutdown();
    }
  });
});

describe("certificate rotation: files replaced while a client keeps calling", () => {
  it("new connections get the new certificate on both ports; no call fails", async () => {
    // The service's files live in a directory of their own, replaced the way tools do (write, then rename).
    const cert = `${pki.dir}/live.crt`;
    const key = `${pki.dir}/live.key`;
    await copyFile(pki.server.cert, cert);
    await copyFile(pki.server.key, key);
    const security = securityOf({
      TLS_CERT_FILE: cert,
      TLS_KEY_FILE: key,
      TLS_CA_FILE: pki.ca,
      TLS_CLIENT_AUTH: "require",
    });
    const ports = await startServer(security);
    const client = securityOf({ TLS_CERT_FILE: pki.client.cert, TLS_KEY_FILE: pki.client.key, TLS_CA_FILE: pki.ca });
    const health = createGrpcClient(
      healthV1.Health,
      ports.grpc,
      { "grpc.use_local_subchannel_pool": 1 },
      client.channelCredentials(),
    );
    let calls = 0;
    const failures: unknown[] = [];
    let calling = true;
    const caller = (async () => {
      while (calling) {
        try {
          await health.check({ service: "" }, { timeoutMs: 3_000 });
          calls++;
        } catch (err) {
          failures.push(err);
        }
      }
    })();
    try {
      await eventually(() => calls > 20, { what: "calls over the first connection" });
      expect(await servedCertificate(ports.grpc, pki.ca, pki.client)).toBe("server");
      expect(await servedCertificate(ports.http, pki.ca, pki.client)).toBe("server");

      await copyFile(pki.serverNext.key, `${key}.new`);
      await copyFile(pki.serverNext.cert, `${cert}.new`);
      await rename(`${key}.new`, key);
      await rename(`${cert}.new`, cert);

      await eventually(async () => (await servedCertificate(ports.grpc, pki.ca, pki.client)) === "server-next", {
        what: "the gRPC port serves the new certificate to a new connection",
      });
      await eventually(async () => (await servedCertificate(ports.http, pki.ca, pki.client)) === "server-next", {
        what: "the HTTPS port serves the new certificate to a new connection",
      });
      const before = calls;
      await eventually(() => calls > before + 20, { what: "calls go on after the rotation" });
      // A fresh channel (a new connection) works under the new certificate.
      expect(await healthCode(ports.grpc, client.channelCredentials())).toBe("ok");
    } finally {
      calling = false;
      await caller;
      health.close();
      client.close();
      await ports.server.shutdown();
    }
    expect(failures).toEqual([]);
  });

  it("keeps the old certificate when the new files do not fit together (cert without its key)", async () => {
    const cert = `${pki.dir}/half.crt`;
    const key = `${pki.dir}/half.key`;
    await copyFile(pki.server.cert, cert);
    await copyFile(pki.server.key, key);
    const problems: string[] = [];
    const security = createTransportSecurity(loadTlsSettings(tlsVars({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key }))!, {
      onReloadFailed: (p) => problems.push(p),
    });
    const ports = await startServer(security);
    try {
      await copyFile(pki.serverNext.cert, cert); // the key stays the old one
      await eventually(() => problems.length > 0, { what: "the mismatch is reported" });
      expect(problems[0]).toMatch(/TLS_CERT_FILE \/ TLS_KEY_FILE/);
      expect(await servedCertificate(ports.http, pki.ca)).toBe("server");
      expect(await servedCertificate(ports.grpc, pki.ca)).toBe("server");
    } finally {
      await ports.server.shutdown();
    }
  });

  it("a client's own certificate replaced: its new connections present the new one", async () => {
    const cert = `${pki.dir}/client-live.crt`;
    const key = `${pki.dir}/client-live.key`;
    await copyFile(pki.client.cert, cert);
    await copyFile(pki.client.key, key);
    const client = securityOf({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key, TLS_CA_FILE: pki.ca });
    // A bare TLS port that notes whom each handshake presented, then hangs up.
    const presented: string[] = [];
    const port = tls.createServer({
      cert: readPem(pki.server.cert),
      key: readPem(pki.server.key),
      ca: readPem(pki.ca),
      requestCert: true,
      ALPNProtocols: ["h2"],
    });
    port.on("secureConnection", (socket) => {
      presented.push(String(socket.getPeerCertificate().subject?.CN));
      socket.destroy();
    });
    await new Promise<void>((resolve) => port.listen(0, "127.0.0.1", resolve));
    const url = `https://127.0.0.1:${(port.address() as { port: number }).port}`;
    // A connection that stays open meanwhile (as a Session would): the credentials stay in use, so the
    // new certificate must reach them as an update, not only when they are first used.
    const server = await startServer(
      securityOf({ TLS_CERT_FILE: pki.server.cert, TLS_KEY_FILE: pki.server.key, TLS_CA_FILE: pki.ca }),
    );
    const held = createGrpcClient(healthV1.Health, server.grpc, {}, client.channelCredentials());
    await held.check({ service: "" });
    const handshake = async (): Promise<string | undefined> => {
      const before = presented.length;
      await healthCode(url, client.channelCredentials()); // fails: no HTTP/2 here, the handshake is what counts
      return presented.length > before ? presented[presented.length - 1] : undefined;
    };
    try {
      expect(await handshake()).toBe("client");
      await copyFile(pki.serverNext.key, `${key}.new`);
      await copyFile(pki.serverNext.cert, `${cert}.new`);
      await rename(`${key}.new`, key);
      await rename(`${cert}.new`, cert);
      await eventually(async () => (await handshake()) === "server-next", {
        what: "a new connection presents the new client certificate",
      });
      expect((await held.check({ service: "" })).status).toBe(Serving.SERVING);
    } finally {
      held.close();
      client.close();
      await server.server.shutdown();
      await new Promise((resolve) => port.close(resolve));
    }
  });
});
