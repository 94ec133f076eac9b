import type { LogLevel } from "./dev-config.js";

/** pino's numeric levels. */
const levelNumbers: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

const levelLabels: ReadonlyArray<[number, string, string]> = [
  // [at least, label, ANSI colour]
  [60, "FATAL", "\x1b[41m\x1b[97m"],
  [50, "ERROR", "\x1b[31m"],
  [40, "WARN ", "\x1b[33m"],
  [30, "INFO ", "\x1b[32m"],
  [20, "DEBUG", "\x1b[36m"],
  [0, "TRACE", "\x1b[90m"],
];

const serviceColours: Readonly<Record<string, string>> = {
  "breaker-coordinator": "\x1b[35m",
  "cache-store": "\x1b[36m",
  gateway: "\x1b[34m",
  s3: "\x1b[33m",
  dev: "\x1b[1m",
};

const reset = "\x1b[0m";
const dim = "\x1b[2m";

/** Fields every pino line carries that say nothing to a human at a console. */
const boring = new Set(["level", "time", "pid", "hostname", "service", "msg", "v"]);

/** How service output is shown. */
export interface LogFormatOptions {
  /** Lines below this level are dropped (lines that are not JSON never are). */
  readonly level: LogLevel;
  /** ANSI colours (a TTY without NO_COLOR). */
  readonly colour: boolean;
  /** Width the service name is padded to, so messages line up. */
  readonly nameWidth: number;
}

/**
 * Turns one line of a service's output into what the console shows, or
 * undefined to drop it. A pino JSON line becomes `name | LEVEL msg k=v …`
 * (an error's stack follows on indented lines); anything else is shown as it
 * came, behind the same prefix.
 */
export function formatLogLine(service: string, line: string, options: LogFormatOptions): string | undefined {
  const prefix = formatPrefix(service, options);
  const record = parseRecord(line);
  if (record === undefined) return `${prefix}${line}`;
  const level = typeof record["level"] === "number" ? record["level"] : levelNumbers.info;
  if (level < levelNumbers[options.level]) return undefined;
  const [, label, colour] = levelLabels.find(([min]) => level >= min)!;
  const parts = [options.colour ? `${colour}${label}${reset}` : label, String(record["msg"] ?? "")];
  let stack: string | undefined;
  for (const [key, value] of Object.entries(record)) {
    if (boring.has(key)) continue;
    if ((key === "err" || key === "error") && isErrorLike(value)) {
      parts.push(`${key}=${JSON.stringify(value.message)}`);
      if (level >= levelNumbers.error && typeof value.stack === "string") stack = value.stack;
      continue;
    }
    const text = `${key}=${typeof value === "string" ? quoteIfNeeded(value) : JSON.stringify(value)}`;
    parts.push(options.colour ? `${dim}${text}${reset}` : text);
  }
  const out = `${prefix}${parts.filter((p) => p !== "").join(" ")}`;
  if (stack === undefined) return out;
  const indent = " ".repeat(options.nameWidth + 3);
  return [
    out,
    ...stack
      .split("\n")
      .slice(1)
      .map((l) => `${indent}${l.trim()}`),
  ].join("\n");
}

/** `name | ` padded to the width, coloured per service when colours are on. */
export function formatPrefix(service: string, options: Pick<LogFormatOptions, "colour" | "nameWidth">): string {
  const name = service.padEnd(options.nameWidth);
  return options.colour ? `${serviceColours[service] ?? ""}${name}${reset} ${dim}|${reset} ` : `${name} | `;
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isErrorLike(value: unknown): value is { message: string; stack?: unknown } {
  return typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string";
}

function quoteIfNeeded(value: string): string {
  return /^[\w.:/@+-]*$/.test(value) && value !== "" ? value : JSON.stringify(value);
}
