/**
 * The Kubernetes manifests shipped in deploy/k8s as tests read them: each
 * overlay rendered by `kubectl kustomize` (offline), the workloads in it with
 * their containers' environment resolved (ConfigMaps, Secrets, `$(VAR)`),
 * and the strict JSON Schemas of the kinds used (deploy/k8s/schemas).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { programOnPath } from "../program-on-path.js";

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

/** deploy/k8s, its overlays, and the schema file of the targeted Kubernetes version. */
export const k8sDir = path.join(repoRoot, "deploy/k8s");
export const overlays = ["dev", "prod"] as const;
export type Overlay = (typeof overlays)[number];
export const schemaFile = path.join(k8sDir, "schemas/kubernetes-v1.32.0.json");

/** The three apps, by the `app.kubernetes.io/name` label of their pods. */
export const apps = ["gateway", "cache-store", "breaker-coordinator"] as const;
export type App = (typeof apps)[number];

/** Which configuration variable sets the port each named container port is (the probes and Services use the names). */
export const portVariables: Readonly<Record<App, Readonly<Record<string, string>>>> = {
  gateway: { http: "GATEWAY_PORT" },
  "cache-store": { grpc: "CACHE_STORE_PORT", http: "CACHE_STORE_HTTP_PORT" },
  "breaker-coordinator": { grpc: "COORDINATOR_PORT", http: "COORDINATOR_HTTP_PORT" },
};

/** Each app's bind-address variable (protected mode: a pod must bind 0.0.0.0 with credentials). */
export const hostVariables: Readonly<Record<App, string>> = {
  gateway: "GATEWAY_HOST",
  "cache-store": "CACHE_STORE_HOST",
  "breaker-coordinator": "COORDINATOR_HOST",
};

/**
 * Variables the manifests define for the kubelet's `$(VAR)` expansion only, which no app reads.
 * Each must be used in another variable's value.
 */
export const expansionOnlyVariables: ReadonlySet<string> = new Set(["K8S_POD_NAME"]);

/**
 * Secrets prod expects to exist rather than renders (docs/operations.md "Kubernetes"):
 * tokens, S3 credentials, the TLS certificate (cert-manager), etcd's credentials (optional).
 */
export const externalSecrets: Readonly<Record<Overlay, readonly string[]>> = {
  dev: [],
  prod: ["breakwater-etcd", "breakwater-s3", "breakwater-tls", "breakwater-tokens"],
};

/** A rendered Kubernetes object (only the fields the tests read are typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Why `kubectl kustomize` cannot run here, or undefined. */
export function kubectlMissing(): string | undefined {
  if (programOnPath("kubectl") !== undefined) return undefined;
  return "kubectl is not installed (1.32 has kustomize v5.5 built in; Debian's kubernetes-client is 1.20, too old)";
}

/** `kubectl kustomize` of one overlay, parsed; throws with kubectl's message when it fails. */
export function renderOverlay(overlay: Overlay | string): K8sObject[] {
  const dir = path.isAbsolute(overlay) ? overlay : path.join(k8sDir, "overlays", overlay);
  const r = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", timeout: 60_000 });
  if (r.error !== undefined) throw r.error;
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (exit ${r.status}):\n${r.stderr}`);
  return parseObjects(r.stdout);
}

/**
 * An overlay with a component of deploy/k8s/components added, as a user adds it to the
 * overlay's kustomization: rendered from a throwaway kustomization (kustomize takes relative
 * paths only) in a temporary folder.
 */
export function renderWithComponent(overlay: Overlay, component: string): K8sObject[] {
  const dir = mkdtempSync(path.join(tmpdir(), "bw-kustomize-"));
  try {
    const rel = (p: string): string => path.relative(dir, path.join(k8sDir, p));
    const kustomization = [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      `resources: [${JSON.stringify(rel(`overlays/${overlay}`))}]`,
      `components: [${JSON.stringify(rel(`components/${component}`))}]`,
    ];
    writeFileSync(path.join(dir, "kustomization.yaml"), `${kustomization.join("\n")}\n`);
    return renderOverlay(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every document of a YAML stream; throws on the first syntax error, naming it. */
export function parseObjects(text: string, source = "kubectl kustomize"): K8sObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS() as K8sObject | null;
    return value === null ? [] : [value];
  });
}

/** Every YAML file under deploy/k8s, relative to it. */
export function yamlFiles(dir = k8sDir): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) found.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return found.sort();
}

/** The `KEY=value` lines of a kustomize env file (comments and blank lines skipped). */
export function envFileEntries(file: string): [string, string][] {
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const eq = l.indexOf("=");
      return [l.slice(0, eq), l.slice(eq + 1)];
    });
}

/** Every env file under deploy/k8s (base and overlays), with the app it configures (its name). */
export function envFiles(): { file: string; app: App }[] {
  const found: { file: string; app: App }[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".env")) {
        const app = e.name.slice(0, -".env".length);
        if (!(apps as readonly string[]).includes(app)) throw new Error(`${p}: not named after an app`);
        found.push({ file: p, app: app as App });
      }
    }
  };
  walk(k8sDir);
  return found;
}

// The pod spec fields the tests read, loosely typed (the schema check covers the shapes).
export interface Probe {
  httpGet?: { path: string; port: string | number; scheme?: string };
  grpc?: { port: number; service?: string };
  periodSeconds?: number;
  failureThreshold?: number;
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}
export interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface PodSpec {
  containers: Container[];
  volumes?: { name: string; emptyDir?: object; secret?: { secretName: string } }[];
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
  enableServiceLinks?: boolean;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
}
export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

/** A Deployment or StatefulSet of one app, its pod template and its (single) container. */
export interface Workload {
  readonly app: App;
  readonly object: K8sObject & {
    spec: { replicas?: number; serviceName?: string; template: PodTemplate };
  };
  readonly pod: PodTemplate;
  readonly container: Container;
}

/** The rendered Deployments and StatefulSets, one per app. */
export function workloads(objects: readonly K8sObject[]): Workload[] {
  return objects
    .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
    .map((o) => {
      const object = o as Workload["object"];
      const app = object.spec.template.metadata.labels["app.kubernetes.io/name"] as App;
      if (!(apps as readonly string[]).includes(app))
        throw new Error(`${o.kind}/${o.metadata.name}: unknown app ${app}`);
      const containers = object.spec.template.spec.containers;
      if (containers.length !== 1) throw new Error(`${o.kind}/${o.metadata.name}: ${containers.length} containers`);
      return { app, object, pod: object.spec.template, container: containers[0]! };
    });
}

/** Where a variable's value comes from. */
export type EnvSource = "value" | "configMap" | "secret" | "field";

/** One variable of a container as the kubelet would set it. */
export interface ResolvedVar {
  readonly name: string;
  /** The value: literal, from a rendered ConfigMap, `$(VAR)` expanded; a placeholder for secrets and fields. */
  readonly value: string;
  readonly source: EnvSource;
}

/** Value stand-ins for what only the cluster knows. */
export const placeholders = { secret: "secret-from-the-cluster", podName: "cache-store-0" } as const;

/**
 * A container's environment as the kubelet builds it: `envFrom` ConfigMaps
 * first, then `env` in order (later wins), `$(VAR)` expanded from what is
 * defined before. A ConfigMap that is not rendered is an error (Secrets need not be).
 */
export function resolveEnv(container: Container, objects: readonly K8sObject[]): ResolvedVar[] {
  const vars = new Map<string, ResolvedVar>();
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef === undefined) throw new Error(`${container.name}: only configMapRef envFrom is read`);
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === from.configMapRef!.name);
    if (cm === undefined) throw new Error(`${container.name}: ConfigMap ${from.configMapRef.name} is not rendered`);
    for (const [name, value] of Object.entries((cm["data"] ?? {}) as Record<string, string>)) {
      vars.set(name, { name, value, source: "configMap" });
    }
  }
  for (const v of container.env ?? []) {
    if (v.value !== undefined) {
      const value = v.value.replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (whole, ref: string) => vars.get(ref)?.value ?? whole,
      );
      vars.set(v.name, { name: v.name, value, source: "value" });
    } else if (v.valueFrom?.secretKeyRef !== undefined) {
      vars.set(v.name, { name: v.name, value: placeholders.secret, source: "secret" });
    } else if (v.valueFrom?.fieldRef !== undefined) {
      vars.set(v.name, { name: v.name, value: placeholders.podName, source: "field" });
    } else {
      throw new Error(`${container.name}: ${v.name} has a source the test does not read`);
    }
  }
  return [...vars.values()];
}

/** Every Secret or ConfigMap a pod template names: env refs, envFrom, volumes. */
export function referencedObjects(
  pod: PodTemplate,
): { kind: "Secret" | "ConfigMap"; name: string; optional: boolean }[] {
  const refs: { kind: "Secret" | "ConfigMap"; name: string; optional: boolean }[] = [];
  for (const c of pod.spec.containers) {
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef) refs.push({ kind: "ConfigMap", name: from.configMapRef.name, optional: false });
      if (from.secretRef) refs.push({ kind: "Secret", name: from.secretRef.name, optional: false });
    }
    for (const v of c.env ?? []) {
      const s = v.valueFrom?.secretKeyRef;
      if (s) refs.push({ kind: "Secret", name: s.name, optional: s.optional === true });
      const m = v.valueFrom?.configMapKeyRef;
      if (m) refs.push({ kind: "ConfigMap", name: m.name, optional: m.optional === true });
    }
  }
  for (const v of pod.spec.volumes ?? []) {
    if (v.secret) refs.push({ kind: "Secret", name: v.secret.secretName, optional: false });
  }
  return refs;
}
