/**
 * The monitoring files shipped in deploy/ as tests read them: the Grafana
 * dashboard's queries, the alert rules' expressions, and the scrape
 * configuration rewritten for a test's stack.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

/** The shipped files, by absolute path. */
export const shipped = {
  scrapeConfig: path.join(repoRoot, "deploy/prometheus/prometheus.yml"),
  alertRules: path.join(repoRoot, "deploy/prometheus/alerts.yml"),
  /** promtool's unit tests of the alert rules, on made-up series. */
  alertRuleTests: path.join(repoRoot, "deploy/prometheus/alerts.test.yml"),
  dashboard: path.join(repoRoot, "deploy/grafana/breakwater.json"),
} as const;

/** One PromQL expression and where it comes from (a panel's title, an alert's name). */
export interface ShippedQuery {
  readonly from: string;
  readonly expr: string;
}

interface DashboardPanel {
  readonly title?: string;
  readonly targets?: readonly { readonly expr?: string }[];
  readonly panels?: readonly DashboardPanel[];
}

/** Every query of the shipped dashboard's panels (rows' nested panels included). */
export function dashboardQueries(json = readFileSync(shipped.dashboard, "utf8")): ShippedQuery[] {
  const dashboard = JSON.parse(json) as { panels?: DashboardPanel[] };
  const queries: ShippedQuery[] = [];
  const visit = (panel: DashboardPanel): void => {
    for (const t of panel.targets ?? []) {
      if (t.expr !== undefined) queries.push({ from: `panel "${panel.title ?? "?"}"`, expr: t.expr });
    }
    for (const child of panel.panels ?? []) visit(child);
  };
  for (const panel of dashboard.panels ?? []) visit(panel);
  return queries;
}

interface RuleFile {
  readonly groups: readonly { readonly rules: readonly { alert?: string; record?: string; expr: string }[] }[];
}

/** Every expression of the shipped alert rules. */
export function ruleQueries(text = readFileSync(shipped.alertRules, "utf8")): ShippedQuery[] {
  const rules = (parse(text) as RuleFile).groups.flatMap((g) => g.rules);
  return rules.map((r) => ({ from: `alert ${r.alert ?? r.record ?? "?"}`, expr: String(r.expr) }));
}

/** What a test changes in the shipped scrape configuration. */
export interface TestScrapeOverride {
  /** Targets (`host:port`) per job name; every shipped job must be given, and only those. */
  readonly targets: Readonly<Record<string, readonly string[]>>;
  /** Scrape and evaluation interval, e.g. "1s": a test cannot wait 15 s per round. */
  readonly interval: string;
}

interface ScrapeConfigFile {
  global?: Record<string, unknown>;
  rule_files?: string[];
  scrape_configs: { job_name: string; static_configs?: unknown; file_sd_configs?: unknown }[];
}

/**
 * The shipped scrape configuration as a test runs it, and nothing else
 * changed: each job's targets replaced by the test's (static), the global
 * scrape and evaluation intervals shortened, and the rule files made absolute
 * (the copy is written elsewhere; the rules are the shipped ones, unchanged).
 */
export function scrapeConfigForTest(text: string, override: TestScrapeOverride, baseDir: string): string {
  const config = parse(text) as ScrapeConfigFile;
  const jobs = config.scrape_configs.map((j) => j.job_name);
  const given = Object.keys(override.targets);
  if (jobs.length !== given.length || !jobs.every((j) => given.includes(j))) {
    throw new Error(`the shipped jobs are ${jobs.join(", ")}; targets were given for ${given.join(", ")}`);
  }
  config.global = { ...config.global, scrape_interval: override.interval, evaluation_interval: override.interval };
  config.rule_files = (config.rule_files ?? []).map((f) => path.resolve(baseDir, f));
  for (const job of config.scrape_configs) {
    delete job.file_sd_configs;
    job.static_configs = [{ targets: [...override.targets[job.job_name]!] }];
  }
  return stringify(config);
}
