/**
 * The shipped monitoring (deploy/) against the running stack (issue 14,
 * "Must show"): `promtool` accepts the scrape configuration and the rules,
 * and the rules pass their unit tests (deploy/prometheus/alerts.test.yml);
 * a real Prometheus scraping s3rver + coordinator + two cache-store replicas
 * + gateway (real processes) with the shipped configuration sees every
 * target up and every series the Grafana dashboard and the alert rules
 * query; forcing a breaker open makes the BreakwaterBreakerOpen alert pending;
 * killing the coordinator makes BreakwaterCoordinatorDown and
 * BreakwaterInstanceDetached (every instance) pending.
 *
 * The configuration Prometheus runs is the shipped file with only what
 * `scrapeConfigForTest` changes: the test's targets, and scrape and rule
 * evaluation every second instead of every 15 s. The rules are the shipped
 * file itself: no `for:` is shortened, so the alerts are asserted pending
 * (their expressions hold), not firing.
 *
 * Needs Debian's `prometheus` (prometheus, promtool); skipped with a message
 * when they are missing. Build first: the apps run from dist/.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  freePort,
  startS3Server,
  startServiceProcess,
  type S3Server,
  type ServiceProcess,
} from "@breakwater/testkit";
import { metricNamesIn } from "./__fixtures__/promql-metric-names.js";
import {
  prometheusMissing,
  promtool,
  startPrometheus,
  type PrometheusServer,
} from "./__fixtures__/prometheus-server.js";
import { dashboardQueries, ruleQueries, scrapeConfigForTest, shipped } from "./__fixtures__/shipped-monitoring.js";

const missing = prometheusMissing();
if (missing !== undefined) console.warn(`prometheus.int.test.ts skipped: ${missing}`);

const ADMIN_TOKEN = "prometheus-test-admin-token";
const KEYS = Array.from({ length: 8 }, (_, i) => `metrics/object-${i}.txt`);

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "inactive" | "pending" | "firing";
}
interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
}

/** The metric names in a service's /metrics text (sample lines, histograms as their _bucket/_count/_sum). */
async function scrapedNames(httpUrl: string): Promise<Set<string>> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return new Set(text.split("\n").flatMap((l) => /^([a-zA-Z_:][\w:]*)[{ ]/.exec(l)?.[1] ?? []));
}

/** A unary Connect JSON call on a service's HTTP/1.1 port. */
async function connectCall(httpUrl: string, method: string, body: object, token?: string): Promise<unknown> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${httpUrl}/${method}`, { method: "POST", headers, body: JSON.stringify(body) });
  const answer = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`${method}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

describe.skipIf(missing !== undefined)("Prometheus with the shipped configuration, scraping the stack", () => {
  let dir: string;
  let s3: S3Server;
  let coordinator: ServiceProcess;
  const replicas: ServiceProcess[] = [];
  let gateway: ServiceProcess;
  let prometheus: PrometheusServer | undefined;
  let storageBreaker: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "bw-prometheus-stack-"));
    s3 = await startS3Server({ buckets: ["default"] });
    storageBreaker = `s3:${s3.endpoint}`;
    coordinator = await startServiceProcess("breaker-coordinator", {
      env: { BW_ADMIN_TOKEN: ADMIN_TOKEN, COORDINATOR_STATE_FILE: path.join(dir, "state.json") },
    });
    const coordinatorUrl = `http://${coordinator.grpcAddress}`;
    // Two replicas, peers of each other: owner routes, the owner hop and the peers' streams have series.
    const ports = [await freePort(), await freePort()];
    const peers = ports.map((p) => `http://127.0.0.1:${p}`).join(",");
    for (const port of ports) {
      replicas.push(
        await startServiceProcess("cache-store", {
          env: {
            COORDINATOR_URL: coordinatorUrl,
            S3_ENDPOINT: s3.endpoint,
            S3_ACCESS_KEY: s3.accessKeyId,
            S3_SECRET_KEY: s3.secretAccessKey,
            CACHE_STORE_HOST: "127.0.0.1",
            CACHE_STORE_PORT: String(port),
            CACHE_STORE_PEERS: peers,
            CACHE_HOT_MAX_BYTES: "1MiB",
          },
        }),
      );
    }
    gateway = await startServiceProcess("gateway", {
      env: { COORDINATOR_URL: coordinatorUrl, CACHE_STORE_URLS: peers, GATEWAY_HOST: "127.0.0.1" },
    });
    // Traffic, before any breaker is forced: writes and reads through the gateway (hits, misses, near-cache),
    // reads on each replica over Connect (for a key the other owns: the owner hop, a hot copy), and a 404.
    for (const key of KEYS) {
      const put = await fetch(`${gateway.httpUrl}/objects/default/${key}`, { method: "PUT", body: `body of ${key}` });
      expect(put.status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await fetch(`${gateway.httpUrl}/objects/default/${key}`)).status).toBe(200);
      for (const r of replicas) {
        for (let i = 0; i < 2; i++) {
          await connectCall(r.httpUrl, "breakwater.cache.v1.CacheService/HeadObject", { bucket: "default", key });
        }
      }
    }
    expect((await fetch(`${gateway.httpUrl}/objects/default/metrics/absent.txt`)).status).toBe(404);
  });

  afterAll(async () => {
    await prometheus?.stop();
    const all = [gateway, ...replicas, coordinator].filter((p) => p !== undefined);
    await Promise.all(all.map((p) => p.stop("SIGTERM")));
    await s3?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    // Nothing outlives the test: every service process and Prometheus exited.
    expect(all.every((p) => p.child.exitCode !== null || p.child.signalCode !== null)).toBe(true);
  });

  it("promtool accepts the shipped scrape configuration and alert rules, and the rules pass their unit tests", () => {
    const config = promtool("check", "config", shipped.scrapeConfig);
    expect(config.status, config.output).toBe(0);
    expect(config.output).toContain("SUCCESS");
    const rules = promtool("check", "rules", shipped.alertRules);
    expect(rules.status, rules.output).toBe(0);
    expect(rules.output).toMatch(/SUCCESS: \d+ rules found/);
    // Every alert quiet before its `for:` or under its threshold, firing after with its labels and annotations.
    const ruleTests = promtool("test", "rules", shipped.alertRuleTests);
    expect(ruleTests.status, ruleTests.output).toBe(0);
    expect(ruleTests.output).toContain("SUCCESS");
  });

  it("scrapes every service: all four targets up, every rule healthy, no breaker alert", async () => {
    const targets = {
      gateway: [gateway.httpUrl.replace("http://", "")],
      "cache-store": replicas.map((r) => r.httpUrl.replace("http://", "")),
      "breaker-coordinator": [coordinator.httpUrl.replace("http://", "")],
    };
    const config = scrapeConfigForTest(
      readFileSync(shipped.scrapeConfig, "utf8"),
      { targets, interval: "1s" },
      path.dirname(shipped.scrapeConfig),
    );
    prometheus = await startPrometheus(config);
    const prom = prometheus;
    let seen: Target[] = [];
    await eventually(
      async () => {
        seen = (await prom.api<{ activeTargets: Target[] }>("/api/v1/targets")).activeTargets;
        return seen.length === 4 && seen.every((t) => t.health === "up");
      },
      { timeoutMs: 20_000, what: "4 targets up" },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify(seen.map((t) => [t.labels, t.health, t.lastError]))}`);
    });
    expect(seen.map((t) => t.labels.job).sort()).toEqual([
      "breaker-coordinator",
      "cache-store",
      "cache-store",
      "gateway",
    ]);

    // The rules have been evaluated against those scrapes, without an error.
    type Rule = { name: string; health: string; lastError?: string };
    type Group = { rules: Rule[]; lastEvaluation: string };
    await eventually(
      async () => {
        const groups = (await prom.api<{ groups: Group[] }>("/api/v1/rules")).groups;
        return groups.length > 0 && groups.every((g) => !g.lastEvaluation.startsWith("0001-"));
      },
      { what: "the rules evaluated once" },
    );
    const rules = (await prom.api<{ groups: Group[] }>("/api/v1/rules")).groups.flatMap((g) => g.rules);
    expect(rules.length).toBe(ruleQueries().length);
    expect(rules.filter((r) => r.health !== "ok")).toEqual([]);
    const alerts = (await prom.api<{ alerts: Alert[] }>("/api/v1/alerts")).alerts;
    expect(alerts.filter((a) => a.labels.alertname === "BreakwaterBreakerOpen")).toEqual([]);
  });

  it("forcing a breaker open makes BreakwaterBreakerOpen pending for that breaker", async () => {
    const prom = prometheus!;
    await connectCall(
      coordinator.httpUrl,
      "breakwater.breaker.v1.BreakerCoordinator/ForceBreaker",
      { name: storageBreaker, mode: "FORCE_MODE_OPEN", reason: "prometheus alert test", ttl: "300s" },
      ADMIN_TOKEN,
    );
    let alert: Alert | undefined;
    const ms = await eventually(
      async () => {
        const alerts = (await prom.api<{ alerts: Alert[] }>("/api/v1/alerts")).alerts;
        alert = alerts.find((a) => a.labels.alertname === "BreakwaterBreakerOpen");
        return alert !== undefined;
      },
      { timeoutMs: 15_000, what: "the BreakwaterBreakerOpen alert" },
    );
    expect(alert!.state).toBe("pending"); // for: 5m, not shortened
    expect(alert!.labels).toMatchObject({ breaker: storageBreaker, severity: "warning" });
    expect(alert!.annotations.summary).toBe(`Breaker ${storageBreaker} has been open for 5 minutes`);
    console.info(`BreakwaterBreakerOpen pending ${ms.toFixed(0)} ms after ForceBreaker OPEN`);
  });

  it("every series the dashboard and the alert rules query exists, and each dashboard query evaluates", async () => {
    const prom = prometheus!;

    const queries = [...dashboardQueries(), ...ruleQueries()];
    const names = [...new Set(queries.flatMap((q) => metricNamesIn(q.expr)))].sort();
    const absent = async (): Promise<string[]> => {
      const found = await Promise.all(
        names.map(async (name) => {
          const series = await prom.api<unknown[]>(`/api/v1/series?match[]=${encodeURIComponent(name)}`);
          return series.length > 0;
        }),
      );
      return names.filter((_, i) => !found[i]);
    };
    let lastAbsent: string[] = [];
    await eventually(async () => (lastAbsent = await absent()).length === 0, {
      timeoutMs: 15_000,
      what: "every queried series in Prometheus",
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}; absent: ${lastAbsent.join(", ")}`);
    });

    // The same names against what the services export, read from their /metrics directly.
    const exported = new Set(["up"]);
    for (const p of [gateway, ...replicas, coordinator]) for (const n of await scrapedNames(p.httpUrl)) exported.add(n);
    expect(names.filter((n) => !exported.has(n))).toEqual([]);

    // Each dashboard query is valid PromQL with Grafana's $__rate_interval given a value.
    for (const { from, expr } of dashboardQueries()) {
      const query = expr.replaceAll("$__rate_interval", "1m");
      await expect(prom.api(`/api/v1/query?query=${encodeURIComponent(query)}`), from).resolves.toBeDefined();
    }
    console.info(`${names.length} metric names in ${queries.length} queries, every one in Prometheus`);
  });

  it("lifting the override closes the breaker and the alert goes away", async () => {
    const prom = prometheus!;
    const breakerAlerts = async (): Promise<Alert[]> =>
      (await prom.api<{ alerts: Alert[] }>("/api/v1/alerts")).alerts.filter(
        (a) => a.labels.alertname === "BreakwaterBreakerOpen",
      );
    expect(await breakerAlerts()).toHaveLength(1);
    await connectCall(
      coordinator.httpUrl,
      "breakwater.breaker.v1.BreakerCoordinator/ForceBreaker",
      { name: storageBreaker, mode: "FORCE_MODE_AUTO", reason: "prometheus alert test done" },
      ADMIN_TOKEN,
    );
    await eventually(async () => (await breakerAlerts()).length === 0, {
      timeoutMs: 15_000,
      what: "BreakwaterBreakerOpen gone",
    });
  });

  it("coordinator killed: BreakwaterCoordinatorDown, BreakwaterInstanceDetached per instance pending", async () => {
    const prom = prometheus!;
    // detach_after is 2 s by default; both alerts keep their shipped `for: 1m`, so pending.
    const pending = async (name: string): Promise<Alert[]> =>
      (await prom.api<{ alerts: Alert[] }>("/api/v1/alerts")).alerts.filter(
        (a) => a.labels.alertname === name && a.state === "pending",
      );
    expect(await pending("BreakwaterCoordinatorDown")).toEqual([]);
    expect(await pending("BreakwaterInstanceDetached")).toEqual([]);
    expect(await coordinator.stop("SIGKILL")).toBe("SIGKILL");
    await eventually(async () => (await pending("BreakwaterCoordinatorDown")).length === 1, {
      timeoutMs: 15_000,
      what: "BreakwaterCoordinatorDown pending",
    });
    expect((await pending("BreakwaterCoordinatorDown"))[0]!.labels.instance).toBe(
      coordinator.httpUrl.replace("http://", ""),
    );
    await eventually(async () => (await pending("BreakwaterInstanceDetached")).length === 3, {
      timeoutMs: 15_000,
      what: "BreakwaterInstanceDetached pending for the gateway and both replicas",
    });
    const detached = (await pending("BreakwaterInstanceDetached")).map((a) => a.labels.job).sort();
    expect(detached).toEqual(["cache-store", "cache-store", "gateway"]);
  });
});
