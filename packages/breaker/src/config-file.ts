/**
 * The BREAKER_CONFIG file: design.md's defaults, a `defaults:` section over
 * them, and per-backend overrides keyed by breaker name, either exact
 * (`s3:http://minio:9000`) or a prefix pattern (`s3:*`). Checked once, every
 * problem listed, then each breaker's config is resolved and frozen.
 *
 * ```yaml
 * defaults:
 *   open_timeout: 30s
 * backends:
 *   "s3:*":
 *     minimum_requests: 20
 *   "cache-store:10.0.0.7:50051":
 *     failure_rate_threshold: 0.3
 * ```
 */
import { parseDocument } from "yaml";
import { BreakerConfigError } from "./breaker-config-error.js";
import { type BreakerConfig, crossCheck, defaultBreakerConfig, type FieldProblem, readConfigFields } from "./config.js";
import { describe } from "./duration.js";

/** The configs of every breaker, as read from one file. */
export interface BreakerConfigSet {
  /** What a breaker with no matching backend entry gets. */
  readonly defaults: BreakerConfig;
  /**
   * The frozen config of the breaker `name`: defaults, then matching patterns (shortest first), then its exact entry.
   */
  resolveConfig(name: string): BreakerConfig;
}

type Overrides = Partial<Record<keyof BreakerConfig, number | undefined>>;

interface Layer {
  readonly key: string;
  /** Set for a pattern (`s3:*` → `s3:`). */
  readonly prefix: string | undefined;
  readonly values: Overrides;
}

/**
 * Parses and checks a BREAKER_CONFIG file. An empty file means design.md's
 * defaults. Throws one BreakerConfigError listing every problem with its path.
 */
export function parseBreakerConfigFile(text: string, base: BreakerConfig = defaultBreakerConfig): BreakerConfigSet {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new BreakerConfigError(doc.errors.map((e) => `yaml: ${e.message}`));
  const root: unknown = doc.toJS();
  if (root === null || root === undefined) return createBreakerConfigSet(base, []);
  if (!isMapping(root)) {
    throw new BreakerConfigError([`(root): must be a mapping with "defaults" and "backends", got ${describe(root)}`]);
  }

  const problems: string[] = [];
  for (const key of Object.keys(root)) {
    if (key !== "defaults" && key !== "backends")
      problems.push(`${key}: unknown section (expected "defaults" or "backends")`);
  }
  const before = problems.length;
  const defaultsConfig = Object.freeze({
    ...base,
    ...readSection(root["defaults"], "defaults", problems),
  }) as BreakerConfig;
  if (problems.length === before) report(crossCheck(defaultsConfig), "defaults", problems);
  const defaultsHold = problems.length === before;

  const layers: Layer[] = [];
  const checked: Layer[] = [];
  const backends = root["backends"];
  if (backends !== undefined && backends !== null && !isMapping(backends)) {
    problems.push(`backends: must be a mapping of breaker names to settings, got ${describe(backends)}`);
  } else if (backends) {
    for (const [key, section] of Object.entries(backends)) {
      const path = `backends[${JSON.stringify(key)}]`;
      const start = problems.length;
      const star = key.indexOf("*");
      if (star !== -1 && star !== key.length - 1)
        problems.push(`${path}: only a trailing "*" is supported in a pattern`);
      const prefix = star === -1 ? undefined : key.slice(0, -1);
      const layer: Layer = { key, prefix, values: readSection(section, path, problems) };
      layers.push(layer);
      if (problems.length === start) checked.push(layer);
    }
  }
  // Cross-field rules hold for what each entry that reads well resolves to (a
  // pattern: for the name that is exactly its prefix). Broken defaults would
  // repeat their problem under every entry, so those are said once, above.
  for (const layer of defaultsHold ? checked : []) {
    const resolved = resolve(defaultsConfig, layers, layer.prefix ?? layer.key);
    report(crossCheck(resolved), `backends[${JSON.stringify(layer.key)}]`, problems);
  }
  if (problems.length > 0) throw new BreakerConfigError(dedupe(problems));
  return createBreakerConfigSet(defaultsConfig, layers);
}

function createBreakerConfigSet(defaults: BreakerConfig, layers: readonly Layer[]): BreakerConfigSet {
  const resolved = new Map<string, BreakerConfig>();
  return {
    defaults,
    resolveConfig(name) {
      let config = resolved.get(name);
      if (config === undefined) {
        config = resolve(defaults, layers, name);
        resolved.set(name, config);
      }
      return config;
    },
  };
}

function resolve(defaults: BreakerConfig, layers: readonly Layer[], name: string): BreakerConfig {
  const matching = layers
    .filter((l) => (l.prefix === undefined ? l.key === name : name.startsWith(l.prefix)))
    // Patterns by length, shortest first; the exact entry last.
    .sort((a, b) => rank(a) - rank(b));
  let config: BreakerConfig = defaults;
  for (const layer of matching) config = { ...config, ...layer.values } as BreakerConfig;
  return config === defaults ? defaults : Object.freeze(config);
}

const rank = (l: Layer): number => (l.prefix === undefined ? Number.MAX_SAFE_INTEGER : l.prefix.length);

function readSection(section: unknown, path: string, problems: string[]): Overrides {
  if (section === undefined || section === null) return {};
  if (!isMapping(section)) {
    problems.push(`${path}: must be a mapping of settings, got ${describe(section)}`);
    return {};
  }
  const reading = readConfigFields(section, "yaml");
  report(reading.problems, path, problems);
  return reading.values;
}

function report(found: readonly FieldProblem[], path: string, problems: string[]): void {
  for (const p of found) problems.push(`${path}.${p.field?.yaml ?? p.name}: ${p.message}`);
}

// A pattern's cross-check can repeat an exact entry's; say each thing once.
const dedupe = (problems: readonly string[]): string[] => [...new Set(problems)];

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Map);
}
