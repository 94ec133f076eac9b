/**
 * The coordinator under mTLS with a token file whose entries name client
 * certificates (`client_cn`, issue 13): Session and the ops are admitted on
 * the verified certificate, with no bearer token; who forced a breaker is the
 * entry's name.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { breakerV1 } from "@breakwater/proto";
import {
  createGrpcClient,
  createTransportSecurity,
  loadTlsSettings,
  type GrpcClient,
  type TransportSecurity,
} from "@breakwater/server-kit";
import {
  eventually,
  makeTestPki,
  startServiceProcess,
  writeTokensFile,
  type ServiceProcess,
  type TestCertificate,
  type TestPki,
} from "@breakwater/testkit";
import { SimInstance } from "./__fixtures__/sim-instance.js";

const { BreakerState, ForceMode } = breakerV1;
const BREAKER = "s3:http://storage.test:9000";
const TOKENS = [
  { name: "cache-fleet", clientCn: "cache-1", permissions: ["read", "write", "purge"] },
  { name: "oncall", clientCn: "ops", permissions: ["admin"] },
  { name: "dashboard", clientCn: "dashboard", permissions: ["read"] },
];
type Coordinator = GrpcClient<typeof breakerV1.BreakerCoordinator>;

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

describe("coordinator permissions from the mTLS client certificate (client_cn)", () => {
  let dir: string;
  let pki: TestPki;
  let coordinator: ServiceProcess;
  const as: Record<string, Coordinator> = {};
  const securities: TransportSecurity[] = [];
  const sims: SimInstance[] = [];

  function clientWith(cert: TestCertificate): Coordinator {
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
    return createGrpcClient(
      breakerV1.BreakerCoordinator,
      `https://${coordinator.grpcAddress}`,
      { "grpc.use_local_subchannel_pool": 1 },
      security.channelCredentials(),
    );
  }
  const session = (client: Coordinator, id: string): SimInstance => {
    const sim = new SimInstance(client, id, { breakers: [BREAKER] });
    sims.push(sim);
    return sim;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bw-coord-identity-"));
    pki = await makeTestPki();
    coordinator = await startServiceProcess("breaker-coordinator", {
      env: {
        COORDINATOR_STATE_FILE: join(dir, "state.json"),
        BW_TOKENS_FILE: writeTokensFile(TOKENS),
        TLS_CERT_FILE: pki.server.cert,
        TLS_KEY_FILE: pki.server.key,
        TLS_CA_FILE: pki.ca,
        TLS_CLIENT_AUTH: "require",
      },
    });
    for (const cn of ["cache-1", "ops", "dashboard", "stranger"]) as[cn] = clientWith(await pki.issue(cn));
  }, 60_000);
  afterAll(async () => {
    for (const s of sims) s.end();
    for (const c of Object.values(as)) c.close();
    for (const s of securities) s.close();
    await coordinator?.stop("SIGKILL");
    await pki?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Session: on an instance's certificate; read-only: PERMISSION_DENIED; unnamed: UNAUTHENTICATED", async () => {
    const stranger = session(as["stranger"]!, "stranger");
    await eventually(() => stranger.closed, { what: "the session with an unnamed certificate ended" });
    expect([stranger.error?.code, stranger.error?.rawMessage]).toEqual([
      Code.Unauthenticated,
      'Session needs a bearer token or a client certificate allowed to write (client certificate CN "stranger" ' +
        "is not in the token file)",
    ]);
    const readOnly = session(as["dashboard"]!, "read-only");
    await eventually(() => readOnly.closed, { what: "the read-only session ended" });
    expect(readOnly.error?.code).toBe(Code.PermissionDenied);
    const instance = session(as["cache-1"]!, "instance");
    await eventually(() => instance.state() === BreakerState.CLOSED, { what: "the instance's snapshot" });
    expect(instance.closed).toBe(false);
    const { instances } = await as["dashboard"]!.listInstances({});
    expect(instances.map((i) => i.instanceId)).toContain("instance");
  });

  it("ForceBreaker needs admin; forced_by and the admin action log name the certificate's entry", async () => {
    const force = { name: BREAKER, mode: ForceMode.OPEN, reason: "storage maintenance" };
    expect((await refusal(as["stranger"]!.forceBreaker(force))).code).toBe(Code.Unauthenticated);
    const denied = await refusal(as["cache-1"]!.forceBreaker(force));
    expect([denied.code, denied.rawMessage]).toEqual([
      Code.PermissionDenied,
      'ForceBreaker is not allowed: client certificate "cache-fleet" may not admin',
    ]);
    expect((await refusal(as["dashboard"]!.resetBreaker({ name: BREAKER }))).code).toBe(Code.PermissionDenied);
    await as["ops"]!.forceBreaker(force);
    const got = await as["dashboard"]!.getBreaker({ name: BREAKER });
    expect([got.breaker?.state, got.breaker?.override?.forcedBy]).toEqual([BreakerState.OPEN, "oncall"]);
    await as["ops"]!.resetBreaker({ name: BREAKER });
    const logged = (action: string) => new RegExp(`"action":"${action}","breaker":"${BREAKER}","who":"oncall"`);
    await eventually(() => logged("reset").test(coordinator.output.join("\n")), { what: "the reset logged" });
    expect(coordinator.output.join("\n")).toMatch(logged("force"));
  });
});
