/**
 * Configuration from environment variables: a schema of typed fields with
 * defaults, validated once at start; every problem is listed (not just the
 * first) and the result is frozen.
 */

/** One variable: how to read it and its default. */
export interface ConfigField<T> {
  readonly parse: (raw: string) => T;
  /** Undefined: the variable is required. */
  readonly default: T | undefined;
  /** One line for docs and error messages. */
  readonly describe: string;
}

/** A schema: variable name → field. */
export type ConfigSchema = Record<string, ConfigField<unknown>>;

/** The frozen, typed values of a schema. */
export type ConfigOf<S extends ConfigSchema> = {
  readonly [K in keyof S]: S[K] extends ConfigField<infer T> ? T : never;
};

/** Every problem found in the environment, one line each. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Reads and validates `env` against `schema`; throws ConfigError listing every problem. */
export function loadConfig<S extends ConfigSchema>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema)) {
    const raw = env[name];
    if (raw === undefined || raw === "") {
      if (field.default === undefined) problems.push(`${name} is required (${field.describe})`);
      else out[name] = field.default;
      continue;
    }
    try {
      out[name] = field.parse(raw);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(raw)}: ${(err as Error).message} (${field.describe})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

const field = <T>(parse: (raw: string) => T, def: T | undefined, describe: string): ConfigField<T> => ({
  parse,
  default: def,
  describe,
});

function integer(raw: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new Error("not a whole number");
  const n = Number(raw);
  if (n < min || n > max) throw new Error(`must be between ${min} and ${max}`);
  return n;
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** "250ms", "30s", "5m", "1h", or a plain number of milliseconds. */
export function parseDurationMs(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(raw.trim());
  if (m === null) throw new Error('not a duration (e.g. "250ms", "30s", "5m", or milliseconds)');
  return Math.round(Number(m[1]) * durationUnits[m[2] ?? "ms"]!);
}

const byteUnits: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
/** "100MiB", "8MiB", "64KiB", "1GB", or a plain number of bytes. */
export function parseBytes(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(raw.trim());
  if (m === null) throw new Error('not a size (e.g. "100MiB", "64KiB", or bytes)');
  return Math.floor(Number(m[1]) * byteUnits[(m[2] ?? "b").toLowerCase()]!);
}

/**
 * A comma-separated list of gRPC addresses as `http://` or `https://` URLs:
 * each with a host, no path, query or credentials (a gRPC target has none),
 * none twice. Every bad entry is named in one error. Trailing slashes are
 * dropped.
 */
export function parseAddressList(raw: string): readonly string[] {
  const entries = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error("needs at least one URL");
  const problems: string[] = [];
  const urls: string[] = [];
  for (const entry of entries) {
    const problem = addressProblem(entry);
    if (problem !== undefined) problems.push(`${JSON.stringify(entry)} ${problem}`);
    const url = entry.replace(/\/+$/, "");
    if (problem === undefined && urls.includes(url)) problems.push(`${JSON.stringify(entry)} is listed twice`);
    urls.push(url);
  }
  if (problems.length > 0) throw new Error(problems.join("; "));
  return urls;
}

function addressProblem(entry: string): string | undefined {
  let u: URL;
  try {
    u = new URL(entry);
  } catch {
    return "is not a URL (e.g. http://coordinator-1:50052)";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return "must be an http:// or https:// URL";
  if (u.hostname === "") return "has no host";
  if (u.pathname !== "/" || u.search !== "" || u.hash !== "") return "must be a bare address (no path or query)";
  if (u.username !== "" || u.password !== "") return "must not carry credentials";
  return undefined;
}

/** Field constructors for schemas. */
export const env = {
  string: (def: string | undefined, describe: string) => field((raw) => raw, def, describe),
  int: (def: number | undefined, describe: string, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    field((raw) => integer(raw, min, max), def, describe),
  /** A TCP port; 0 picks a free one. */
  port: (def: number, describe: string) => field((raw) => integer(raw, 0, 65535), def, describe),
  bool: (def: boolean, describe: string) =>
    field(
      (raw) => {
        const v = raw.trim().toLowerCase();
        if (["1", "true", "yes", "on"].includes(v)) return true;
        if (["0", "false", "no", "off"].includes(v)) return false;
        throw new Error("not a boolean (true/false)");
      },
      def,
      describe,
    ),
  durationMs: (def: number | undefined, describe: string) => field(parseDurationMs, def, describe),
  bytes: (def: number | undefined, describe: string) => field(parseBytes, def, describe),
  url: (def: string | undefined, describe: string) =>
    field(
      (raw) => {
        const u = new URL(raw); // throws "Invalid URL"
        if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("must be an http:// or https:// URL");
        return raw.replace(/\/+$/, "");
      },
      def,
      describe,
    ),
  /** Comma-separated gRPC addresses as URLs (`http://host:port`), see {@link parseAddressList}. */
  urlList: (def: readonly string[] | undefined, describe: string) => field(parseAddressList, def, describe),
  oneOf: <T extends string>(values: readonly T[], def: T | undefined, describe: string) =>
    field(
      (raw) => {
        if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(", ")}`);
        return raw as T;
      },
      def,
      describe,
    ),
};

/** LOG_LEVEL, COORDINATOR_URL and the shutdown grace: what every service reads. */
export const commonConfig = {
  LOG_LEVEL: env.oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"], "info", "pino log level"),
  COORDINATOR_URL: env.urlList(
    ["http://127.0.0.1:50052"],
    "breaker-coordinator gRPC address; several replicas comma-separated, or a DNS name with a record per replica",
  ),
  SHUTDOWN_GRACE_MS: env.durationMs(10_000, "how long in-flight calls may finish after SIGTERM before they are cut"),
  SHUTDOWN_DRAIN_DELAY_MS: env.durationMs(
    0,
    "time between reporting NOT_SERVING and closing the ports, for load balancers to notice",
  ),
};
