/**
 * A breaker as shared in etcd: the pure machine's snapshot (without outcomes
 * or permits, which live in window summaries and probe slots), when its
 * window was last cleared, and the transitions the write that made the
 * record announced, so that every replica pushes the same versions.
 */
import {
  BreakerSnapshotError,
  parseBreakerMachineJSON,
  type BreakerMachineJSON,
  type BreakerTransition,
  type BreakerView,
} from "@breakwater/breaker";

/** The value of `<prefix>breakers/<name>`. */
export interface BreakerRecord {
  readonly format: 1;
  readonly machine: BreakerMachineJSON;
  /** Outcomes in buckets before this time are not counted (a clean close or a reset cleared the window). */
  readonly windowFrom: number;
  /** What the write that made this record announced, in version order (none for a write that moved no state). */
  readonly transitions: readonly BreakerTransition[];
}

/** The record as stored. */
export function encodeBreakerRecord(record: BreakerRecord): string {
  return JSON.stringify(record);
}

/** Reads a stored record strictly; a malformed one throws a BreakerSnapshotError naming the bad value. */
export function decodeBreakerRecord(text: string): BreakerRecord {
  const o = object(JSON.parse(text) as unknown, "record");
  if (o["format"] !== 1) throw new BreakerSnapshotError("record.format: must be 1");
  const windowFrom = o["windowFrom"];
  if (typeof windowFrom !== "number" || !Number.isFinite(windowFrom)) {
    throw new BreakerSnapshotError(`record.windowFrom: must be a time in ms, got ${JSON.stringify(windowFrom)}`);
  }
  const transitions = o["transitions"];
  if (!Array.isArray(transitions)) throw new BreakerSnapshotError("record.transitions: must be a list");
  return {
    format: 1,
    machine: parseBreakerMachineJSON(o["machine"], "record.machine"),
    windowFrom,
    transitions: transitions.map((t: unknown, i) => parseTransition(t, `record.transitions[${i}]`)),
  };
}

/** What instances admit calls from, as the record stands (no change due by time is applied: none is committed). */
export function viewOfRecord(record: BreakerRecord): BreakerView {
  const m = record.machine;
  const forced = m.override !== null;
  const state = m.override?.mode ?? m.auto.kind;
  const openUntil = forced
    ? m.override!.mode === "open"
      ? m.override!.expiresAt
      : undefined
    : m.auto.kind === "open"
      ? m.auto.openUntil
      : undefined;
  return { name: m.name, state, version: m.version, openUntil, forced };
}

/** When a change falls due by time alone (open time over, override lapsing); undefined when none. */
export function nextChangeOfRecord(record: BreakerRecord): number | undefined {
  const m = record.machine;
  if (m.override !== null) return m.override.expiresAt;
  return m.auto.kind === "open" ? m.auto.openUntil : undefined;
}

const STATES = new Set(["closed", "open", "half-open"]);

function parseTransition(value: unknown, path: string): BreakerTransition {
  const o = object(value, path);
  const state = (key: string): BreakerTransition["state"] => {
    const s = o[key];
    if (typeof s === "string" && STATES.has(s)) return s as BreakerTransition["state"];
    throw new BreakerSnapshotError(`${path}.${key}: must be a breaker state, got ${JSON.stringify(s)}`);
  };
  const num = (key: string): number => {
    const n = o[key];
    if (typeof n === "number" && Number.isFinite(n)) return n;
    throw new BreakerSnapshotError(`${path}.${key}: must be a number, got ${JSON.stringify(n)}`);
  };
  const str = (key: string): string => {
    const s = o[key];
    if (typeof s === "string") return s;
    throw new BreakerSnapshotError(`${path}.${key}: must be a string`);
  };
  return {
    name: str("name"),
    from: state("from"),
    to: state("to"),
    state: state("state"),
    version: num("version"),
    openUntil: o["openUntil"] === undefined || o["openUntil"] === null ? undefined : num("openUntil"),
    forced: o["forced"] === true,
    reason: str("reason"),
    at: num("at"),
  };
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new BreakerSnapshotError(`${path}: must be an object`);
}
