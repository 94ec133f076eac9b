import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  freePort,
  makeTestPki,
  startServiceProcess,
  type ServiceProcess,
  type TestPki,
} from "@breakwater/testkit";

const ATTACHED = "breaker session attached";

/**
 * COORDINATOR_URL names a host (`https://localhost:<port>`), and the session
 * dials the name's records once they are looked up (coordinator-replicas.ts).
 * Under TLS the coordinator's certificate names the host, not an address (as
 * a certificate for a Kubernetes headless Service does): each record must be
 * verified by the configured name. The first session dials the name itself
 * (no lookup answered yet), so the records are met on the reconnect after a
 * coordinator restart.
 */
describe("a session over TLS to a coordinator named by DNS", () => {
  let pki: TestPki;
  let dir: string;
  let port: number;
  let coordinator: ServiceProcess | undefined;
  let instance: ServiceProcess | undefined;

  const startCoordinator = async (certificate: { cert: string; key: string }): Promise<ServiceProcess> =>
    startServiceProcess("breaker-coordinator", {
      env: {
        COORDINATOR_PORT: String(port),
        COORDINATOR_STATE_FILE: join(dir, "state.json"),
        TLS_CERT_FILE: certificate.cert,
        TLS_KEY_FILE: certificate.key,
        TLS_CA_FILE: pki.ca,
        TLS_CLIENT_AUTH: "none",
      },
    });

  beforeAll(async () => {
    pki = await makeTestPki();
    dir = mkdtempSync(join(tmpdir(), "bw-session-names-"));
    port = await freePort();
  });
  afterAll(async () => {
    await instance?.stop();
    await coordinator?.stop();
    rmSync(dir, { recursive: true, force: true });
    await pki?.remove();
  });

  it("re-attaches after a coordinator restart, dialling the name's records verified by the name", async () => {
    const byName = await pki.issue("coordinator-by-name", [], { namesOnly: true }); // DNS:localhost only
    coordinator = await startCoordinator(byName);
    instance = await startServiceProcess("cache-store", {
      env: {
        COORDINATOR_URL: `https://localhost:${port}`,
        TLS_CA_FILE: pki.ca,
        S3_ENDPOINT: "http://127.0.0.1:1", // never called here
        LOG_LEVEL: "debug",
      },
    });
    const attaches = (): number => instance!.output.filter((l) => l.includes(ATTACHED)).length;
    await eventually(() => attaches() === 1, { what: "the first session attached" });

    expect(await coordinator.stop("SIGKILL")).toBe("SIGKILL");
    coordinator = await startCoordinator(byName);
    await eventually(() => attaches() === 2, {
      timeoutMs: 20_000, // a breakage bound: the session's reconnect backoff is capped well below it
      what: "the session attached again after the restart",
    });
    const again = instance.output.filter((l) => l.includes(ATTACHED)).at(-1)!;
    // The second session is on one of the name's records (an address), not on the name itself.
    expect(JSON.parse(again)).toMatchObject({ replica: expect.stringMatching(/^https:\/\/(127\.0\.0\.1|\[::1\])/) });
  }, 60_000);
});
