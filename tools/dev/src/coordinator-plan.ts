/**
 * The coordinator part of the dev stack: one process with its state file
 * (the default), or with BW_DEV_COORDINATORS=N a local one-node etcd and N
 * replicas sharing the fleet's state through it (docs/operations.md
 * "Coordinator replicas on etcd"). Every service is then given all N
 * replicas in COORDINATOR_URL, so killing one shows a failover.
 */
import * as path from "node:path";
import { coordinatorPorts, type DevConfig } from "./dev-config.js";
import type { Endpoint, PlannedPort, ServicePlan } from "./stack-plan.js";

const loopback = "127.0.0.1";

/** The coordinators' ports, processes (etcd first when there is one) and addresses. */
export interface CoordinatorPlan {
  readonly ports: readonly PlannedPort[];
  readonly services: readonly ServicePlan[];
  readonly endpoints: readonly Endpoint[];
  /** COORDINATOR_URL for every service: each replica, comma-separated. */
  readonly coordinatorUrl: string;
}

export function planCoordinators(
  config: DevConfig,
  appMain: string,
  common: Readonly<Record<string, string>>,
  stateFile: string,
  /** Under BW_DEV_TLS: the CA and client certificate of the health checks; the URLs are https then. */
  healthTls?: ServicePlan["healthTls"],
): CoordinatorPlan {
  const scheme = healthTls ? "https" : "http";
  const replicas = Array.from({ length: config.coordinators }, (_, i) => {
    const { grpc, http } = coordinatorPorts(config.ports, i);
    return { name: config.coordinators === 1 ? "breaker-coordinator" : `breaker-coordinator-${i + 1}`, grpc, http };
  });
  const coordinatorUrl = replicas.map((r) => `${scheme}://${loopback}:${r.grpc}`).join(",");
  const onEtcd = config.coordinators > 1;
  const etcdUrl = `http://${loopback}:${config.ports.etcdClient}`;
  const etcdPeerUrl = `http://${loopback}:${config.ports.etcdPeer}`;
  const ports: PlannedPort[] = [];
  const services: ServicePlan[] = [];
  if (onEtcd) {
    ports.push(
      { port: config.ports.etcdClient, host: loopback, service: "etcd", role: "client", variable: "BW_DEV_ETCD_PORT" },
      { port: config.ports.etcdPeer, host: loopback, service: "etcd", role: "peer", variable: "BW_DEV_ETCD_PEER_PORT" },
    );
    services.push({
      name: "etcd",
      exec: {
        command: "etcd",
        args: [
          "--name=breakwater-dev",
          `--data-dir=${path.join(config.dataDir, "etcd")}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${etcdPeerUrl}`,
          `--initial-advertise-peer-urls=${etcdPeerUrl}`,
          `--initial-cluster=breakwater-dev=${etcdPeerUrl}`,
          "--logger=zap",
          "--log-level=warn",
        ],
      },
      env: {},
      healthUrl: `${etcdUrl}/health`,
    });
  }
  for (const [i, r] of replicas.entries()) {
    const variable = (name: string): string => (i === 0 ? name : `${name} (this replica is ${10 * i} above it)`);
    ports.push(
      { port: r.grpc, host: "0.0.0.0", service: r.name, role: "gRPC", variable: variable("COORDINATOR_PORT") },
      { port: r.http, host: "0.0.0.0", service: r.name, role: "HTTP", variable: variable("COORDINATOR_HTTP_PORT") },
    );
    services.push({
      name: r.name,
      main: appMain,
      env: {
        ...common,
        COORDINATOR_URL: coordinatorUrl,
        COORDINATOR_PORT: String(r.grpc),
        COORDINATOR_HTTP_PORT: String(r.http),
        ...(onEtcd ? { COORDINATOR_ETCD_ENDPOINTS: etcdUrl } : { COORDINATOR_STATE_FILE: stateFile }),
      },
      healthUrl: `${scheme}://${loopback}:${r.http}/healthz`,
      ...(healthTls ? { healthTls } : {}),
    });
  }
  const endpoints: Endpoint[] = replicas.flatMap((r) => [
    { service: r.name, protocol: healthTls ? "gRPC (mTLS)" : "gRPC (h2c)", address: `${loopback}:${r.grpc}` },
    {
      service: r.name,
      protocol: "Connect JSON, gRPC-Web, /metrics",
      address: `${scheme}://${loopback}:${r.http}`,
    },
  ]);
  if (onEtcd) endpoints.push({ service: "etcd", protocol: "etcd v3 API (the fleet's state)", address: etcdUrl });
  return { ports, services, endpoints, coordinatorUrl };
}
