/**
 * The probes of the shipped manifests (deploy/k8s) against the running apps
 * (issue 15): every path an httpGet readiness, liveness or startup probe of
 * either overlay names answers 200 on the app's HTTP port, and every gRPC
 * probe's port answers grpc.health.v1 Check with SERVING, on real processes
 * of the three apps (built) wired as in a pod: coordinator, cache-store,
 * gateway. A path no app serves answers 404 and fails here.
 *
 * The apps run plaintext on loopback: the scheme (HTTPS in prod) is checked
 * against TLS_CERT_FILE by k8s-manifests.test.ts, which also checks that the
 * probes' ports are the ports the config opens. Needs kubectl to render the
 * overlays; skipped with a message without it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthV1 } from "@breakwater/proto";
import { createGrpcClient } from "@breakwater/server-kit";
import { eventually, startServiceProcess, type ServiceProcess } from "@breakwater/testkit";
import {
  kubectlMissing,
  overlays,
  renderOverlay,
  workloads,
  type App,
  type Probe,
} from "./__fixtures__/k8s-manifests.js";

const missing = kubectlMissing();
if (missing !== undefined) console.warn(`k8s-probes.int.test.ts skipped: ${missing}`);

/** One probe of one overlay's workload. */
interface NamedProbe {
  readonly overlay: string;
  readonly app: App;
  readonly kind: string;
  readonly probe: Probe;
}

function probesOf(overlay: string): NamedProbe[] {
  return workloads(renderOverlay(overlay)).flatMap((w) =>
    (["readinessProbe", "livenessProbe", "startupProbe"] as const).flatMap((kind) => {
      const probe = w.container[kind];
      return probe === undefined ? [] : [{ overlay, app: w.app, kind, probe }];
    }),
  );
}

describe.skipIf(missing !== undefined)("the manifests' probes against the running apps", () => {
  const running = new Map<App, ServiceProcess>();
  let stateDir: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), "bw-k8s-probes-"));
    const coordinator = await startServiceProcess("breaker-coordinator", {
      env: { COORDINATOR_STATE_FILE: path.join(stateDir, "state.json") },
    });
    running.set("breaker-coordinator", coordinator);
    const coordinatorUrl = `http://${coordinator.grpcAddress}`;
    const cacheStore = await startServiceProcess("cache-store", {
      // No S3 is needed for health: nothing is read.
      env: { COORDINATOR_URL: coordinatorUrl, S3_ENDPOINT: "http://127.0.0.1:1" },
    });
    running.set("cache-store", cacheStore);
    running.set(
      "gateway",
      await startServiceProcess("gateway", {
        env: { COORDINATOR_URL: coordinatorUrl, CACHE_STORE_URLS: `http://${cacheStore.grpcAddress}` },
      }),
    );
  });

  afterAll(async () => {
    await Promise.all([...running.values()].map((p) => p.stop()));
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("every httpGet probe's path answers 200 on the app's HTTP port; every gRPC probe's port is SERVING", async () => {
    const probes = overlays.flatMap(probesOf);
    expect(probes.length).toBe(2 * 3 * 3); // two overlays, three apps, three probes each
    const answers = async (): Promise<string[]> =>
      Promise.all(
        probes.map(async ({ overlay, app, kind, probe }) => {
          const p = running.get(app)!;
          const where = `${overlay} ${app} ${kind}`;
          if (probe.httpGet !== undefined) {
            const res = await fetch(`${p.httpUrl}${probe.httpGet.path}`);
            return `${where} GET ${probe.httpGet.path}: ${res.status}`;
          }
          const health = createGrpcClient(healthV1.Health, p.grpcAddress);
          try {
            const { status } = await health.check({ service: probe.grpc?.service ?? "" });
            return `${where} grpc: ${healthV1.HealthCheckResponse_ServingStatus[status]}`;
          } finally {
            health.close();
          }
        }),
      );
    // The gateway is ready once its cache-store connection is up (a fixed wait, not the check).
    const gateway = running.get("gateway")!;
    await eventually(async () => (await fetch(`${gateway.httpUrl}/readyz`)).status === 200, {
      timeoutMs: 15_000,
      everyMs: 100,
      what: "the gateway ready",
    });
    const good = (a: string): boolean => a.endsWith(": 200") || a.endsWith(": SERVING");
    expect((await answers()).filter((a) => !good(a))).toEqual([]);
  });
});
