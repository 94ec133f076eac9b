/**
 * The Kubernetes manifests (deploy/k8s) against Kubernetes' API and against
 * the code, offline (issue 15): each overlay renders with `kubectl kustomize`;
 * every rendered object validates against the strict JSON Schema of its kind
 * for Kubernetes v1.32.0 (deploy/k8s/schemas); every variable the manifests
 * set is one the app's config schema declares, with a value it accepts; the
 * probes and Services name ports the config opens; the drain delay covers
 * the readiness probe, the grace period covers drain and in-flight calls;
 * pods are locked down. k8s-probes.int.test.ts checks the probe paths
 * against the running apps.
 *
 * Without kubectl (not a Debian package) the rendering checks are skipped
 * with a message; the source checks (YAML parses, base objects validate,
 * every variable in the env files exists) still run.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { coordinatorConfigSchema } from "@breakwater/breaker-coordinator";
import { cacheStoreConfigSchema } from "@breakwater/cache-store";
import { gatewayConfigSchema } from "@breakwater/gateway";
import { ConfigError, loadConfig, protectedModeProblem, type ConfigSchema } from "@breakwater/server-kit";
import {
  envFileEntries,
  envFiles,
  expansionOnlyVariables,
  externalSecrets,
  hostVariables,
  k8sDir,
  kubectlMissing,
  overlays,
  parseObjects,
  portVariables,
  referencedObjects,
  renderOverlay,
  renderWithComponent,
  resolveEnv,
  schemaFile,
  workloads,
  yamlFiles,
  type App,
  type Container,
  type K8sObject,
  type Probe,
  type Workload,
} from "./__fixtures__/k8s-manifests.js";

const missing = kubectlMissing();
if (missing !== undefined) console.warn(`k8s-manifests.test.ts: rendering checks skipped: ${missing}`);

/** Each app's environment schema, as the app itself declares it. */
const configSchemas: Record<App, ConfigSchema> = {
  gateway: gatewayConfigSchema,
  "cache-store": cacheStoreConfigSchema,
  "breaker-coordinator": coordinatorConfigSchema,
};

interface SchemaFile {
  kubernetesVersion: string;
  kinds: Record<string, string>;
  definitions: Record<string, object>;
}
const schemas = JSON.parse(readFileSync(schemaFile, "utf8")) as SchemaFile;
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addSchema({ $id: "k8s", definitions: schemas.definitions });
const validators = new Map<string, ValidateFunction>();

/** Schema problems of one object, one line each; an unknown kind is one. */
function schemaProblems(o: K8sObject): string[] {
  const gvk = `${o.apiVersion}/${o.kind}`;
  const model = schemas.kinds[gvk];
  const name = `${o.kind}/${o.metadata?.name ?? "?"}`;
  if (model === undefined) return [`${name}: no schema for ${gvk} (add it to tools/dev/scripts/k8s-schemas.mjs)`];
  let validate = validators.get(model);
  if (validate === undefined) validators.set(model, (validate = ajv.compile({ $ref: `k8s#/definitions/${model}` })));
  if (validate(o)) return [];
  return (validate.errors ?? []).map((e) => `${name}${e.instancePath}: ${e.message} ${JSON.stringify(e.params)}`);
}

const ms = (seconds: number | undefined, fallback: number): number => (seconds ?? fallback) * 1000;
/** The kubelet's probe defaults (periodSeconds 10, failureThreshold 3). */
const probeWindowMs = (p: Probe): number => ms(p.periodSeconds, 10) * (p.failureThreshold ?? 3);

describe("deploy/k8s sources (no kubectl needed)", () => {
  it("every YAML file parses", () => {
    const files = yamlFiles();
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(() => parseObjects(readFileSync(path.join(k8sDir, f), "utf8"), f)).not.toThrow();
  });

  it(`every object of the base validates against Kubernetes ${schemas.kubernetesVersion}'s schemas`, () => {
    const objects = yamlFiles()
      .filter((f) => f.startsWith("base/") && !f.endsWith("kustomization.yaml"))
      .flatMap((f) => parseObjects(readFileSync(path.join(k8sDir, f), "utf8"), f));
    expect(objects.map((o) => o.kind).sort()).toEqual(
      ["Deployment", "Deployment", "StatefulSet", "Service", "Service", "Service", "Service"]
        .concat(["PodDisruptionBudget", "PodDisruptionBudget", "PodDisruptionBudget"])
        .sort(),
    );
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  it("every variable of the env files is one the app's config schema declares", () => {
    const files = envFiles();
    expect(files.length).toBeGreaterThanOrEqual(3);
    const unknown = files.flatMap(({ file, app }) =>
      envFileEntries(file)
        .filter(([name]) => !(name in configSchemas[app]))
        .map(([name]) => `${path.relative(k8sDir, file)}: ${name} is not in ${app}'s config schema`),
    );
    expect(unknown).toEqual([]);
  });
});

describe.skipIf(missing !== undefined).each(overlays)("overlay %s, rendered by kubectl kustomize", (overlay) => {
  // Rendered once per overlay; a failure to render fails every test below with kubectl's message.
  let rendered: K8sObject[] | Error | undefined;
  const objects = (): K8sObject[] => {
    if (rendered === undefined) {
      try {
        rendered = renderOverlay(overlay);
      } catch (err) {
        rendered = err as Error;
      }
    }
    if (rendered instanceof Error) throw rendered;
    return rendered;
  };
  const each = (check: (w: Workload, env: Map<string, string>) => string[]): string[] =>
    workloads(objects()).flatMap((w) => {
      const env = new Map(resolveEnv(w.container, objects()).map((v) => [v.name, v.value]));
      return check(w, env).map((p) => `${w.object.kind}/${w.object.metadata.name}: ${p}`);
    });
  /** The app's config as it would load it from the pod's environment. */
  const configOf = (w: Workload, env: Map<string, string>): Record<string, unknown> =>
    loadConfig(configSchemas[w.app], Object.fromEntries(env)) as Record<string, unknown>;

  it(`renders, and every object validates against Kubernetes ${schemas.kubernetesVersion}'s schemas`, () => {
    expect(
      workloads(objects())
        .map((w) => w.app)
        .sort(),
    ).toEqual(["breaker-coordinator", "cache-store", "gateway"]);
    expect(objects().flatMap(schemaProblems)).toEqual([]);
  });

  it("every variable a container gets is in its app's config schema (or only feeds a $(VAR))", () => {
    const problems = each((w) => {
      const names = resolveEnv(w.container, objects()).map((v) => v.name);
      const raw = JSON.stringify(w.container.env ?? []);
      return names.flatMap((name) => {
        if (expansionOnlyVariables.has(name))
          return raw.includes(`$(${name})`) ? [] : [`${name} feeds no $(${name}) expansion`];
        return name in configSchemas[w.app] ? [] : [`${name} is not in ${w.app}'s config schema`];
      });
    });
    expect(problems).toEqual([]);
  });

  it("every value is one the app's config accepts, and the pods bind all addresses with credentials", () => {
    const problems = each((w, env) => {
      let config: Record<string, unknown>;
      try {
        config = configOf(w, env);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => `config: ${p}`);
        throw err;
      }
      const hostVar = hostVariables[w.app];
      const out: string[] = [];
      if (config[hostVar] !== "0.0.0.0") out.push(`${hostVar} is ${String(config[hostVar])}, not 0.0.0.0`);
      if (config["BW_INSECURE"] === true) out.push("BW_INSECURE is on");
      const secured = config as Parameters<typeof protectedModeProblem>[2];
      const exposed = protectedModeProblem(hostVar, String(config[hostVar]), secured, Object.fromEntries(env));
      if (exposed !== undefined) out.push(exposed);
      if (config["BW_TOKENS_FILE"] === "") out.push("no BW_TOKENS_FILE: every call would be anonymous");
      return out;
    });
    expect(problems).toEqual([]);
  });

  it("file variables point into mounted volumes", () => {
    const problems = each((w, env) => {
      const mounts = w.container.volumeMounts ?? [];
      const fileVars = [...env].filter(([name, value]) => /_FILE$/.test(name) && value !== "");
      const out = fileVars
        .filter(([, value]) => !mounts.some((m) => value.startsWith(`${m.mountPath}/`)))
        .map(([name, value]) => `${name}=${value} is under no volume mount`);
      if (w.app === "breaker-coordinator") {
        const stateDir = path.posix.dirname(env.get("COORDINATOR_STATE_FILE") ?? "");
        const mount = mounts.find((m) => m.mountPath === stateDir);
        const volume = w.pod.spec.volumes?.find((v) => v.name === mount?.name);
        if (volume?.emptyDir === undefined) out.push(`COORDINATOR_STATE_FILE's folder ${stateDir} is no emptyDir`);
      }
      return out;
    });
    expect(problems).toEqual([]);
  });

  it("container ports are the ports the config opens; probes and Services use them", () => {
    const problems = each((w, env) => {
      const config = configOf(w, env);
      const ports = new Map((w.container.ports ?? []).map((p) => [p.name ?? "", p.containerPort]));
      const expected = portVariables[w.app];
      const out: string[] = [];
      if ([...ports.keys()].sort().join() !== Object.keys(expected).sort().join())
        out.push(`container ports ${[...ports.keys()].join(", ")}, expected ${Object.keys(expected).join(", ")}`);
      for (const [name, variable] of Object.entries(expected)) {
        if (ports.get(name) !== config[variable])
          out.push(`port ${name} is ${ports.get(name)}, ${variable} is ${String(config[variable])}`);
      }
      const number = (port: string | number): number | undefined => (typeof port === "number" ? port : ports.get(port));
      const tls = config["TLS_CERT_FILE"] !== "";
      for (const [kind, probe] of probesOf(w.container)) {
        if (probe.httpGet !== undefined) {
          if (number(probe.httpGet.port) !== config[expected["http"]!])
            out.push(`${kind} probe: port ${probe.httpGet.port} is not the HTTP port`);
          if ((probe.httpGet.scheme === "HTTPS") !== tls)
            out.push(`${kind} probe: scheme ${probe.httpGet.scheme ?? "HTTP"} but TLS is ${tls ? "on" : "off"}`);
        } else if (probe.grpc !== undefined) {
          if (expected["grpc"] === undefined || probe.grpc.port !== config[expected["grpc"]])
            out.push(`${kind} probe: gRPC port ${probe.grpc.port} is not the gRPC port`);
          // The kubelet's gRPC probe has no TLS.
          if (tls) out.push(`${kind} probe: a gRPC probe against a TLS port`);
        } else out.push(`${kind} probe: neither httpGet nor grpc`);
      }
      // The kubelet presents no client certificate.
      if (config["TLS_CLIENT_AUTH"] === "require") out.push("TLS_CLIENT_AUTH=require would fail every probe");
      const annotations = w.pod.metadata.annotations ?? {};
      const scrape = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(config[expected["http"]!]),
        "prometheus.io/path": "/metrics",
        ...(tls ? { "prometheus.io/scheme": "https" } : {}),
      };
      for (const [k, v] of Object.entries(scrape)) if (annotations[k] !== v) out.push(`annotation ${k} is not ${v}`);
      if (!tls && annotations["prometheus.io/scheme"] !== undefined) out.push("prometheus.io/scheme without TLS");
      return out;
    });
    const services = objects().filter((o) => o.kind === "Service");
    for (const s of services) {
      const spec = s["spec"] as { selector: Record<string, string>; ports: { name: string; targetPort: string }[] };
      const selected = workloads(objects()).filter((w) =>
        Object.entries(spec.selector).every(([k, v]) => w.pod.metadata.labels[k] === v),
      );
      if (selected.length !== 1) problems.push(`Service/${s.metadata.name} selects ${selected.length} workloads`);
      for (const p of spec.ports) {
        if (!selected.every((w) => (w.container.ports ?? []).some((cp) => cp.name === p.targetPort)))
          problems.push(`Service/${s.metadata.name}: targetPort ${p.targetPort} is no container port`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("cache-stores advertise their StatefulSet DNS names, which the gateways and peers list", () => {
    const all = workloads(objects());
    const store = all.find((w) => w.app === "cache-store")!;
    const storeEnv = new Map(resolveEnv(store.container, objects()).map((v) => [v.name, v.value]));
    const port = configOf(store, storeEnv)["CACHE_STORE_PORT"];
    const service = store.object.spec.serviceName;
    const headless = objects().find((o) => o.kind === "Service" && o.metadata.name === service);
    expect((headless?.["spec"] as { clusterIP?: string } | undefined)?.clusterIP).toBe("None");
    // The pod name stands in for metadata.name (fieldRef): cache-store-0.
    expect(storeEnv.get("CACHE_STORE_ADVERTISE_ADDRESS")).toBe(`${store.object.metadata.name}-0.${service}:${port}`);
    const tls = storeEnv.get("TLS_CERT_FILE") !== undefined;
    const replicas = store.object.spec.replicas ?? 1;
    const names = Array.from({ length: replicas }, (_, i) => `${store.object.metadata.name}-${i}.${service}:${port}`);
    const urls = names.map((n) => `${tls ? "https" : "http"}://${n}`).join(",");
    expect(storeEnv.get("CACHE_STORE_PEERS")).toBe(urls);
    const gateway = all.find((w) => w.app === "gateway")!;
    const gatewayEnv = new Map(resolveEnv(gateway.container, objects()).map((v) => [v.name, v.value]));
    expect(gatewayEnv.get("CACHE_STORE_URLS")).toBe(urls);
    for (const env of [storeEnv, gatewayEnv]) expect(env.get("CACHE_STORE_MEMBERSHIP")).toBe("coordinator");
  });

  it("COORDINATOR_URL names the coordinators' headless Service and gRPC port", () => {
    const all = workloads(objects());
    const coordinator = all.find((w) => w.app === "breaker-coordinator")!;
    const coordinatorEnv = new Map(resolveEnv(coordinator.container, objects()).map((v) => [v.name, v.value]));
    const grpcPort = configOf(coordinator, coordinatorEnv)["COORDINATOR_PORT"];
    const tls = coordinatorEnv.get("TLS_CERT_FILE") !== undefined;
    for (const w of all.filter((x) => x.app !== "breaker-coordinator")) {
      const env = new Map(resolveEnv(w.container, objects()).map((v) => [v.name, v.value]));
      const url = new URL(env.get("COORDINATOR_URL") ?? "");
      expect(url.protocol).toBe(tls ? "https:" : "http:");
      expect(Number(url.port)).toBe(grpcPort);
      const service = objects().find((o) => o.kind === "Service" && o.metadata.name === url.hostname);
      const spec = service?.["spec"] as { clusterIP?: string; selector: Record<string, string> } | undefined;
      expect(spec?.clusterIP, `${url.hostname}: a headless Service (a record per replica)`).toBe("None");
      expect(spec?.selector["app.kubernetes.io/name"]).toBe("breaker-coordinator");
    }
    const replicas = coordinator.object.spec.replicas ?? 1;
    if (replicas > 1) expect(coordinatorEnv.get("COORDINATOR_ETCD_ENDPOINTS") ?? "").not.toBe("");
  });

  it("the drain delay covers the readiness probe; the grace period covers drain and in-flight calls", () => {
    const problems = each((w, env) => {
      const config = configOf(w, env);
      const drain = config["SHUTDOWN_DRAIN_DELAY_MS"] as number;
      const grace = config["SHUTDOWN_GRACE_MS"] as number;
      const margin = 5_000;
      const out: string[] = [];
      const readiness = w.container.readinessProbe;
      if (readiness === undefined) return ["no readiness probe"];
      if (drain < probeWindowMs(readiness) + margin)
        out.push(`SHUTDOWN_DRAIN_DELAY_MS ${drain} < readiness window ${probeWindowMs(readiness)} + ${margin}`);
      const terminationMs = ms(w.pod.spec.terminationGracePeriodSeconds, 30);
      if (terminationMs < drain + grace + margin)
        out.push(`terminationGracePeriodSeconds ${terminationMs} ms < drain ${drain} + grace ${grace} + ${margin}`);
      const liveness = w.container.livenessProbe;
      if (liveness === undefined) out.push("no liveness probe");
      else if (probeWindowMs(liveness) < drain + grace)
        out.push(`liveness fails after ${probeWindowMs(liveness)} ms, inside drain + grace (/healthz is 503 then)`);
      if (w.app === "gateway" && grace < (config["UPSTREAM_TIMEOUT"] as number))
        out.push(`SHUTDOWN_GRACE_MS ${grace} < UPSTREAM_TIMEOUT ${String(config["UPSTREAM_TIMEOUT"])}`);
      return out;
    });
    expect(problems).toEqual([]);
  });

  it("pods run as non-root on a read-only root with nothing to escalate, /tmp an emptyDir, resources bounded", () => {
    const problems = each((w) => {
      const out: string[] = [];
      const pod = w.pod.spec;
      const c = w.container;
      // Service links would set e.g. GATEWAY_PORT=tcp://10.0.0.1:8080 for a Service named gateway.
      if (pod.enableServiceLinks !== false) out.push("enableServiceLinks is not false");
      if (pod.automountServiceAccountToken !== false) out.push("automountServiceAccountToken is not false");
      if (pod.securityContext?.runAsNonRoot !== true) out.push("runAsNonRoot is not true");
      if (pod.securityContext?.seccompProfile?.type !== "RuntimeDefault") out.push("seccomp is not RuntimeDefault");
      if (c.securityContext?.allowPrivilegeEscalation !== false) out.push("allowPrivilegeEscalation is not false");
      if (c.securityContext?.readOnlyRootFilesystem !== true) out.push("readOnlyRootFilesystem is not true");
      if (!(c.securityContext?.capabilities?.drop ?? []).includes("ALL")) out.push("capabilities do not drop ALL");
      const tmp = c.volumeMounts?.find((m) => m.mountPath === "/tmp");
      if (pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir === undefined) out.push("/tmp is no emptyDir");
      for (const r of ["cpu", "memory"]) if (c.resources?.requests?.[r] === undefined) out.push(`no ${r} request`);
      if (c.resources?.limits?.["memory"] === undefined) out.push("no memory limit");
      if (c.image.startsWith("breakwater/") || !/:[\w.-]+$/.test(c.image))
        out.push(`image ${c.image} is not set by the overlay (images:)`);
      return out;
    });
    expect(problems).toEqual([]);
  });

  it("each workload has one PodDisruptionBudget", () => {
    const budgets = objects().filter((o) => o.kind === "PodDisruptionBudget");
    const covered = workloads(objects()).map(
      (w) =>
        budgets.filter((b) => {
          const selector = (b["spec"] as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
          return Object.entries(selector).every(([k, v]) => w.pod.metadata.labels[k] === v);
        }).length,
    );
    expect(covered).toEqual([1, 1, 1]);
  });

  const expected = overlay === "prod" ? ", or one prod expects to exist" : "";
  it(`every Secret and ConfigMap named is rendered${expected}`, () => {
    const names = workloads(objects()).flatMap((w) => referencedObjects(w.pod));
    const absent = names.filter((r) => !objects().some((o) => o.kind === r.kind && o.metadata.name === r.name));
    expect(absent.filter((r) => r.kind === "ConfigMap")).toEqual([]);
    expect([...new Set(absent.map((r) => r.name))].sort()).toEqual(externalSecrets[overlay]);
    // Keys read from rendered Secrets exist in them.
    const missingKeys = workloads(objects()).flatMap((w) =>
      (w.container.env ?? []).flatMap((v) => {
        const ref = v.valueFrom?.secretKeyRef;
        const secret = objects().find((o) => o.kind === "Secret" && o.metadata.name === ref?.name);
        if (ref === undefined || secret === undefined) return [];
        const keys = Object.keys({ ...(secret["data"] as object), ...(secret["stringData"] as object) });
        return keys.includes(ref.key) ? [] : [`${v.name}: Secret ${ref.name} has no key ${ref.key}`];
      }),
    );
    expect(missingKeys).toEqual([]);
  });
});

describe.skipIf(missing !== undefined)("overlay prod with components/service-monitor", () => {
  // The ServiceMonitor is a Prometheus Operator CRD: its schema is not kept in deploy/k8s/schemas,
  // so it is checked here for what matters (targets, job names, scheme) and every other object
  // against the schemas as above.
  it("scrapes each app's pods once, over HTTPS, under the job names the alert rules query", () => {
    const objects = renderWithComponent("prod", "service-monitor");
    const monitors = objects.filter((o) => o.kind === "ServiceMonitor");
    expect(monitors.map((m) => m.apiVersion)).toEqual(["monitoring.coreos.com/v1"]);
    expect(objects.filter((o) => o.kind !== "ServiceMonitor").flatMap(schemaProblems)).toEqual([]);
    interface Endpoint {
      port: string;
      path: string;
      scheme: string;
      tlsConfig?: { ca?: { secret?: { name: string; key: string } } };
    }
    const spec = monitors[0]!["spec"] as {
      jobLabel: string;
      selector: { matchLabels: Record<string, string> };
      endpoints: Endpoint[];
    };
    const services = objects.filter(
      (o) =>
        o.kind === "Service" &&
        Object.entries(spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    // A Service yields targets only when it has the endpoint's port: one Service per app.
    const scraped = spec.endpoints.flatMap((e) =>
      services
        .filter((s) => (s["spec"] as { ports: { name: string }[] }).ports.some((p) => p.name === e.port))
        .map((s) => s.metadata.labels?.[spec.jobLabel]),
    );
    const shippedJobs = (
      parse(readFileSync(path.join(k8sDir, "../prometheus/prometheus.yml"), "utf8")) as {
        scrape_configs: { job_name: string }[];
      }
    ).scrape_configs.map((j) => j.job_name);
    expect(scraped.sort()).toEqual([...shippedJobs].sort());
    for (const e of spec.endpoints) {
      expect(e.path).toBe("/metrics");
      expect(e.scheme).toBe("https");
      expect(e.tlsConfig?.ca?.secret).toEqual({ name: "breakwater-tls", key: "ca.crt" });
    }
  });
});

/** A container's probes by kind. */
function probesOf(c: Container): [string, Probe][] {
  const all: [string, Probe | undefined][] = [
    ["readiness", c.readinessProbe],
    ["liveness", c.livenessProbe],
    ["startup", c.startupProbe],
  ];
  return all.filter((e): e is [string, Probe] => e[1] !== undefined);
}
