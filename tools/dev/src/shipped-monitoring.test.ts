/**
 * The shipped monitoring files (deploy/) against the code, without running
 * anything: every metric the dashboard and the alert rules read is one a
 * service registers, and a test's copy of the scrape configuration differs
 * from the shipped one only where it says. prometheus.int.test.ts checks
 * the same names against a live scrape.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { metricNamesIn } from "./__fixtures__/promql-metric-names.js";
import { dashboardQueries, ruleQueries, scrapeConfigForTest, shipped } from "./__fixtures__/shipped-monitoring.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
/** Series Prometheus itself adds to every target. */
const prometheusOwn = new Set(["up"]);

/** The TypeScript sources the services are built from (tests left out). */
function serviceSources(): string {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && e.name !== "__fixtures__" && e.name !== "gen") walk(p);
      else if (e.isFile() && p.endsWith(".ts") && !p.endsWith(".test.ts")) files.push(p);
    }
  };
  for (const parent of ["apps", "packages"]) {
    for (const project of readdirSync(path.join(repoRoot, parent))) {
      if (project !== "testkit") walk(path.join(repoRoot, parent, project, "src"));
    }
  }
  return files.map((f) => readFileSync(f, "utf8")).join("\n");
}

/** A histogram's series name back to the name it is registered under. */
const registeredName = (series: string): string => series.replace(/_(bucket|count|sum)$/, "");

describe("the shipped dashboard and alert rules", () => {
  const queries = [...dashboardQueries(), ...ruleQueries()];

  it("read only metrics a service registers (a name as a string literal in apps/ or packages/)", () => {
    const source = serviceSources();
    const unknown = queries.flatMap(({ from, expr }) =>
      metricNamesIn(expr)
        .filter((name) => !prometheusOwn.has(name) && !source.includes(`"${registeredName(name)}"`))
        .map((name) => `${from}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("each query reads at least one metric", () => {
    expect(queries.length).toBeGreaterThan(40);
    expect(queries.filter((q) => metricNamesIn(q.expr).length === 0)).toEqual([]);
  });

  it("the dashboard's panels have distinct ids and query through its datasource variable", () => {
    type Panel = {
      id: number;
      type: string;
      datasource?: { uid: string };
      targets?: { datasource?: { uid: string } }[];
    };
    const panels = (JSON.parse(readFileSync(shipped.dashboard, "utf8")) as { panels: Panel[] }).panels;
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const queried = panels.filter((p) => p.type !== "row");
    expect(queried.every((p) => p.datasource?.uid === "${datasource}")).toBe(true);
    expect(queried.every((p) => (p.targets ?? []).every((t) => t.datasource?.uid === "${datasource}"))).toBe(true);
  });
});

describe("scrapeConfigForTest", () => {
  const text = readFileSync(shipped.scrapeConfig, "utf8");
  const targets = {
    gateway: ["127.0.0.1:1"],
    "cache-store": ["127.0.0.1:2", "127.0.0.1:3"],
    "breaker-coordinator": ["127.0.0.1:4"],
  };

  it("changes the targets, the two intervals and the rule files' folder, and nothing else", () => {
    const original = parse(text) as Record<string, unknown> & {
      scrape_configs: Record<string, unknown>[];
      rule_files: string[];
    };
    const copy = parse(scrapeConfigForTest(text, { targets, interval: "1s" }, "/shipped")) as typeof original;
    expect(copy.global).toEqual({ ...(original.global as object), scrape_interval: "1s", evaluation_interval: "1s" });
    expect(copy.rule_files).toEqual(original.rule_files.map((f) => path.join("/shipped", f)));
    expect(copy.scrape_configs).toEqual(
      original.scrape_configs.map((job) => ({
        ...job,
        static_configs: [{ targets: targets[job.job_name as keyof typeof targets] }],
      })),
    );
    const rest = (c: typeof original): object => ({ ...c, global: 0, rule_files: 0, scrape_configs: 0 });
    expect(rest(copy)).toEqual(rest(original));
  });

  it("refuses targets that do not name exactly the shipped jobs", () => {
    expect(() => scrapeConfigForTest(text, { targets: { gateway: ["x:1"] }, interval: "1s" }, "/")).toThrow(
      /the shipped jobs are gateway, cache-store, breaker-coordinator; targets were given for gateway/,
    );
  });
});
