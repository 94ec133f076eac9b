import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { breakerV1 } from "@breakwater/proto";
import { createGrpcClient } from "@breakwater/server-kit";
import {
  etcdInstalled,
  eventually,
  freePort,
  makeTestPki,
  startServiceProcess,
  type ServiceProcess,
  type TestPki,
} from "@breakwater/testkit";

/**
 * etcd behind TLS with client certificates (`--client-cert-auth`): a replica
 * given COORDINATOR_ETCD_CA_FILE, _CERT_FILE and _KEY_FILE serves the fleet;
 * one without the client certificate is refused by etcd and stays NOT_SERVING.
 */
describe.skipIf(!etcdInstalled())("coordinator on etcd over mTLS", () => {
  let dir: string;
  let pki: TestPki;
  let etcd: ChildProcess;
  let endpoint: string;
  const replicas: ServiceProcess[] = [];

  /** GET of etcd's /health over https with the client certificate: true once it answers 200. */
  const etcdHealthy = (): Promise<boolean> =>
    new Promise((resolve) => {
      const req = https.get(
        `${endpoint}/health`,
        {
          agent: false,
          ca: readFileSync(pki.ca),
          cert: readFileSync(pki.client.cert),
          key: readFileSync(pki.client.key),
        },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on("error", () => resolve(false));
    });

  const readyz = async (r: ServiceProcess): Promise<number> => (await fetch(`${r.httpUrl}/readyz`)).status;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-etcd-tls-"));
    pki = await makeTestPki();
    const [client, peer] = [await freePort(), await freePort()];
    endpoint = `https://127.0.0.1:${client}`;
    // prettier-ignore
    etcd = spawn("etcd", [
      "--name", "n0",
      "--data-dir", join(dir, "n0"),
      "--listen-client-urls", endpoint,
      "--advertise-client-urls", endpoint,
      "--listen-peer-urls", `http://127.0.0.1:${peer}`,
      "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`,
      "--initial-cluster", `n0=http://127.0.0.1:${peer}`,
      "--cert-file", pki.server.cert,
      "--key-file", pki.server.key,
      "--trusted-ca-file", pki.ca,
      "--client-cert-auth",
      "--logger", "zap",
      "--log-level", "warn",
    ], { stdio: "ignore" });
    await eventually(etcdHealthy, { timeoutMs: 15_000, what: "etcd healthy over mTLS" });
  }, 30_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    if (etcd && etcd.exitCode === null) {
      const exited = new Promise((r) => etcd.once("exit", r));
      etcd.kill("SIGKILL");
      await exited;
    }
    await pki?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (withCertificate: boolean): Promise<ServiceProcess> => {
    const r = await startServiceProcess("breaker-coordinator", {
      env: {
        COORDINATOR_ETCD_ENDPOINTS: endpoint,
        COORDINATOR_ETCD_CA_FILE: pki.ca,
        ...(withCertificate
          ? { COORDINATOR_ETCD_CERT_FILE: pki.client.cert, COORDINATOR_ETCD_KEY_FILE: pki.client.key }
          : {}),
      },
    });
    replicas.push(r);
    return r;
  };

  it("with the client certificate: SERVING, and a forced breaker is stored in etcd", async () => {
    const r = await start(true);
    await eventually(async () => (await readyz(r)) === 200, { timeoutMs: 15_000, what: "the replica ready" });
    const ops = createGrpcClient(breakerV1.BreakerCoordinator, r.grpcAddress);
    try {
      const forced = await ops.forceBreaker({
        name: "s3:tls-check",
        mode: breakerV1.ForceMode.OPEN,
        reason: "etcd over mTLS",
      });
      expect(forced.breaker?.state).toBe(breakerV1.BreakerState.OPEN);
    } finally {
      ops.close();
    }
  }, 30_000);

  it("without it: etcd refuses the handshake and the replica stays NOT_SERVING", async () => {
    const r = await start(false);
    // It tries, fails the handshake and says so: a condition, not a pause.
    await eventually(() => r.output.some((l) => l.includes('"event":"etcd_unavailable"')), {
      timeoutMs: 20_000,
      what: "the replica reports etcd unavailable",
    });
    expect(await readyz(r)).toBe(503);
    expect(r.output.some((l) => l.includes('"event":"etcd_available"'))).toBe(false);
  }, 30_000);
});
