/**
 * A breaker machine as saved in the coordinator's snapshot file, and its
 * strict reading back. Times are absolute (ms epoch), so an open breaker
 * keeps only what is left of its open time; the version goes on from where
 * it was.
 */
import type { AutoBreakerJSON } from "./auto-breaker.js";
import type { AutoState } from "./breaker-state.js";
import { BreakerSnapshotError } from "./breaker-snapshot-error.js";
import type { FleetWindowJSON } from "./fleet-window.js";
import type { Override } from "./override.js";
import type { ProbeLeasesJSON } from "./probe-leases.js";
import type { SlidingWindowJSON } from "./sliding-window.js";

/** A machine as saved (JSON-safe: no undefined, no Map). */
export interface BreakerMachineJSON extends AutoBreakerJSON {
  readonly name: string;
  readonly version: number;
  readonly since: number;
  readonly reason: string;
  readonly override: Override | null;
}

/** Reads and checks a saved machine; throws a BreakerSnapshotError naming the bad value's path. */
export function parseBreakerMachineJSON(value: unknown, path = "breaker"): BreakerMachineJSON {
  const o = record(value, path);
  return {
    name: text(o["name"], `${path}.name`),
    version: count(o["version"], `${path}.version`),
    since: time(o["since"], `${path}.since`),
    reason: text(o["reason"], `${path}.reason`),
    auto: parseAuto(o["auto"], `${path}.auto`),
    override:
      o["override"] === null || o["override"] === undefined ? null : parseOverride(o["override"], `${path}.override`),
    reopens: count(o["reopens"], `${path}.reopens`),
    probes: parseProbes(o["probes"], `${path}.probes`),
    window: parseFleetWindow(o["window"], `${path}.window`),
  };
}

function parseAuto(value: unknown, path: string): AutoState {
  const o = record(value, path);
  switch (o["kind"]) {
    case "closed":
      return { kind: "closed" };
    case "open":
      return { kind: "open", openUntil: time(o["openUntil"], `${path}.openUntil`) };
    case "half-open":
      return { kind: "half-open", successes: count(o["successes"], `${path}.successes`) };
    default:
      throw new BreakerSnapshotError(
        `${path}.kind: must be "closed", "open" or "half-open", got ${JSON.stringify(o["kind"])}`,
      );
  }
}

function parseOverride(value: unknown, path: string): Override {
  const o = record(value, path);
  const mode = o["mode"];
  if (mode !== "open" && mode !== "closed") {
    throw new BreakerSnapshotError(`${path}.mode: must be "open" or "closed", got ${JSON.stringify(mode)}`);
  }
  const expiry = o["expiresAt"];
  const expiresAt = expiry === undefined || expiry === null ? undefined : time(expiry, `${path}.expiresAt`);
  const override: Override = { mode, reason: text(o["reason"], `${path}.reason`), expiresAt };
  return o["by"] === undefined ? override : { ...override, by: text(o["by"], `${path}.by`) };
}

function parseProbes(value: unknown, path: string): ProbeLeasesJSON {
  const o = record(value, path);
  const permits = list(o["permits"], `${path}.permits`).map((p, i) => {
    const at = `${path}.permits[${i}]`;
    const permit = record(p, at);
    const id = text(permit["id"], `${at}.id`);
    const holder = text(permit["holder"], `${at}.holder`);
    return { granted: true as const, id, holder, expiresAt: time(permit["expiresAt"], `${at}.expiresAt`) };
  });
  return { permits, next: count(o["next"], `${path}.next`) };
}

function parseFleetWindow(value: unknown, path: string): FleetWindowJSON {
  const o = record(value, path);
  const instances: Record<string, SlidingWindowJSON> = {};
  for (const [id, w] of Object.entries(record(o["instances"], `${path}.instances`))) {
    instances[id] = parseWindow(w, `${path}.instances[${JSON.stringify(id)}]`);
  }
  return { total: parseWindow(o["total"], `${path}.total`), instances };
}

function parseWindow(value: unknown, path: string): SlidingWindowJSON {
  const o = record(value, path);
  const buckets = list(o["buckets"], `${path}.buckets`).map((b, i) => {
    const at = `${path}.buckets[${i}]`;
    const cells = list(b, at);
    if (cells.length !== 4) throw new BreakerSnapshotError(`${at}: must be [start, successes, failures, slow calls]`);
    const [start, successes, failures, slow] = cells;
    return [
      time(start, `${at}[0]`),
      count(successes, `${at}[1]`),
      count(failures, `${at}[2]`),
      count(slow, `${at}[3]`),
    ] as const;
  });
  return { buckets, consecutiveFailures: count(o["consecutiveFailures"], `${path}.consecutiveFailures`) };
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new BreakerSnapshotError(`${path}: must be an object`);
}

function list(value: unknown, path: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new BreakerSnapshotError(`${path}: must be a list`);
}

function text(value: unknown, path: string): string {
  if (typeof value === "string") return value;
  throw new BreakerSnapshotError(`${path}: must be a string`);
}

function time(value: unknown, path: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new BreakerSnapshotError(`${path}: must be a time in ms, got ${JSON.stringify(value)}`);
}

function count(value: unknown, path: string): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  throw new BreakerSnapshotError(`${path}: must be an integer ≥ 0, got ${JSON.stringify(value)}`);
}
