/**
 * A breaker's tuning, with design.md's defaults ("Breakers"). One table of
 * fields drives both the options constructor (camelCase, milliseconds) and
 * the BREAKER_CONFIG file (snake_case, durations such as "30s").
 */
import { describe, parseDuration } from "./duration.js";

/** Everything that shapes one breaker; frozen once built. Times are milliseconds. */
export interface BreakerConfig {
  /** Length of the sliding window the rates are measured over. */
  readonly windowMs: number;
  /** How many buckets the window is cut into (its time resolution). */
  readonly windowBuckets: number;
  /** Calls the window needs before a failure or slow-call rate can open the breaker. */
  readonly minimumRequests: number;
  /** Failure rate (0–1] at or above which the breaker opens. */
  readonly failureRateThreshold: number;
  /** A run of this many failures opens the breaker whatever the rate. */
  readonly consecutiveFailures: number;
  /** Calls taking at least this long count as slow; undefined turns slow-call tripping off. */
  readonly slowCallMs: number | undefined;
  /** Slow-call rate (0–1] at or above which the breaker opens (when slowCallMs is set). */
  readonly slowCallRateThreshold: number;
  /** How long the first opening lasts; it doubles on each re-open. */
  readonly openTimeoutMs: number;
  /** The cap of the doubling open time. */
  readonly maxOpenTimeoutMs: number;
  /** Spread of open times, ± this fraction, so breakers opened together do not probe together. */
  readonly openJitter: number;
  /** Trial calls in flight at once while half-open, across the whole fleet. */
  readonly halfOpenMaxProbes: number;
  /** How long a probe permit lives if its holder never reports back. */
  readonly probeLeaseMs: number;
  /** Successful probes that close a half-open breaker. */
  readonly successThreshold: number;
  /** Distinct failing instances that open the fleet breaker (1 when only one instance reports). */
  readonly quorumInstances: number;
  /** Share (0–1] of the reporting instances that also makes a quorum, whichever needs fewer. */
  readonly quorumFraction: number;
  /** Silence from the coordinator after which an instance falls back to local breakers. */
  readonly detachAfterMs: number;
  /** How often instances report (an empty report is a heartbeat). */
  readonly heartbeatIntervalMs: number;
}

/** design.md's defaults. */
export const defaultBreakerConfig: BreakerConfig = Object.freeze({
  windowMs: 60_000,
  windowBuckets: 10,
  minimumRequests: 10,
  failureRateThreshold: 0.5,
  consecutiveFailures: 5,
  slowCallMs: undefined,
  slowCallRateThreshold: 0.5,
  openTimeoutMs: 30_000,
  maxOpenTimeoutMs: 300_000,
  openJitter: 0.1,
  halfOpenMaxProbes: 1,
  probeLeaseMs: 5_000,
  successThreshold: 3,
  quorumInstances: 2,
  quorumFraction: 0.5,
  detachAfterMs: 2_000,
  heartbeatIntervalMs: 1_000,
});

type Check = (value: number) => string | undefined;

/** One field of BreakerConfig: its names in code and in the file, and its rule. */
export interface ConfigField {
  readonly key: keyof BreakerConfig;
  readonly yaml: string;
  readonly duration: boolean;
  readonly optional: boolean;
  readonly check: Check;
}

const count: Check = (v) => (Number.isInteger(v) && v >= 1 ? undefined : `must be an integer ≥ 1, got ${v}`);
const positive: Check = (v) => (v > 0 ? undefined : `must be greater than 0, got ${v}`);
const fraction: Check = (v) => {
  if (v < 0 || v > 1) return `must be between 0 and 1, got ${v}`;
  return v === 0 ? "must be greater than 0, got 0" : undefined;
};
const jitter: Check = (v) => (v >= 0 && v < 1 ? undefined : `must be ≥ 0 and < 1, got ${v}`);
const buckets: Check = (v) =>
  Number.isInteger(v) && v >= 1 && v <= 1000 ? undefined : `must be an integer from 1 to 1000, got ${v}`;

const field = (
  key: keyof BreakerConfig,
  yaml: string,
  check: Check,
  duration = false,
  optional = false,
): ConfigField => ({
  key,
  yaml,
  check,
  duration,
  optional,
});

/** The fields, in the order problems are listed. */
export const configFields: readonly ConfigField[] = [
  field("windowMs", "window", positive, true),
  field("windowBuckets", "window_buckets", buckets),
  field("minimumRequests", "minimum_requests", count),
  field("failureRateThreshold", "failure_rate_threshold", fraction),
  field("consecutiveFailures", "consecutive_failures", count),
  field("slowCallMs", "slow_call_ms", positive, true, true),
  field("slowCallRateThreshold", "slow_call_rate_threshold", fraction),
  field("openTimeoutMs", "open_timeout", positive, true),
  field("maxOpenTimeoutMs", "max_open_timeout", positive, true),
  field("openJitter", "open_jitter", jitter),
  field("halfOpenMaxProbes", "half_open_max_probes", count),
  field("probeLeaseMs", "probe_lease", positive, true),
  field("successThreshold", "success_threshold", count),
  field("quorumInstances", "quorum_instances", count),
  field("quorumFraction", "quorum_fraction", fraction),
  field("detachAfterMs", "detach_after", positive, true),
  field("heartbeatIntervalMs", "heartbeat_interval", positive, true),
];

/** A problem with one field; the caller decides how the field's path is spelled. */
export interface FieldProblem {
  /** The field's key (camelCase), or the unknown name as written. */
  readonly name: string;
  readonly field: ConfigField | undefined;
  readonly message: string;
}

/** Some fields of a config, read and checked one by one. */
export interface FieldReading {
  readonly values: Partial<Record<keyof BreakerConfig, number | undefined>>;
  readonly problems: FieldProblem[];
}

/**
 * Reads the fields present in `source`. `naming` says how keys are spelled:
 * "yaml" (snake_case, durations as strings or ms) or "option" (camelCase,
 * numbers only). Unknown keys are problems too.
 */
export function readConfigFields(source: Readonly<Record<string, unknown>>, naming: "yaml" | "option"): FieldReading {
  const values: Partial<Record<keyof BreakerConfig, number | undefined>> = {};
  const problems: FieldProblem[] = [];
  for (const [name, raw] of Object.entries(source)) {
    const spec = configFields.find((f) => (naming === "yaml" ? f.yaml : f.key) === name);
    if (spec === undefined) {
      problems.push({ name, field: undefined, message: "unknown setting" });
      continue;
    }
    const read = readValue(spec, raw, naming);
    if (typeof read === "string") problems.push({ name, field: spec, message: read });
    else values[spec.key] = read.value;
  }
  return { values, problems };
}

function readValue(spec: ConfigField, raw: unknown, naming: "yaml" | "option"): { value: number | undefined } | string {
  if (spec.optional && (raw === null || raw === undefined)) return { value: undefined };
  let value: number;
  if (spec.duration && naming === "yaml") {
    const parsed = parseDuration(raw);
    if (!parsed.ok) return parsed.problem;
    value = parsed.ms;
  } else if (typeof raw === "number" && Number.isFinite(raw)) {
    value = raw;
  } else {
    return `must be a number, got ${describe(raw)}`;
  }
  return spec.check(value) ?? { value };
}

/** Rules that tie fields together, checked on a whole config. */
export function crossCheck(config: BreakerConfig): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const at = (key: keyof BreakerConfig, message: string): void => {
    problems.push({ name: key, field: configFields.find((f) => f.key === key), message });
  };
  if (config.maxOpenTimeoutMs < config.openTimeoutMs) {
    at("maxOpenTimeoutMs", `must be ≥ open timeout (${config.openTimeoutMs} ms), got ${config.maxOpenTimeoutMs} ms`);
  }
  if (config.windowMs < config.windowBuckets) {
    at("windowMs", `must give each of the ${config.windowBuckets} buckets at least 1 ms, got ${config.windowMs} ms`);
  }
  if (config.detachAfterMs <= config.heartbeatIntervalMs) {
    const heartbeat = config.heartbeatIntervalMs;
    at("detachAfterMs", `must be longer than the heartbeat interval (${heartbeat} ms), got ${config.detachAfterMs} ms`);
  }
  return problems;
}

/**
 * Builds a frozen config from design.md's defaults (or `base`) and options.
 * Throws a RangeError naming every bad option and its value.
 */
export function createBreakerConfig(
  options: Partial<BreakerConfig> = {},
  base: BreakerConfig = defaultBreakerConfig,
): BreakerConfig {
  const reading = readConfigFields(options, "option");
  // Only optional fields (slowCallMs) can read as undefined, so this is a BreakerConfig.
  const config = Object.freeze({ ...base, ...reading.values }) as BreakerConfig;
  const problems = reading.problems.length > 0 ? reading.problems : crossCheck(config);
  if (problems.length > 0) {
    throw new RangeError(`invalid breaker options: ${problems.map((p) => `${p.name} ${p.message}`).join("; ")}`);
  }
  return config;
}
