/**
 * A replica's breaker opening as its own log tells it. cache-store logs every
 * transition it applies ("breaker transition", pino JSON, design.md "Logging
 * and metrics") from inside the call that changed the state, so the line's
 * `time` (pino's isoTime: `Date.now()` of the replica, ms) is the instant the
 * replica began refusing calls: the closest observable there is from outside.
 */
export interface BreakerOpening {
  /** The replica's `Date.now()` when it logged the transition, ms. */
  readonly at: number;
  /** "local": the replica's own breaker tripped; "fleet": the coordinator's transition arrived. */
  readonly source: "local" | "fleet";
  /** The transition's reason as logged (the rule that tripped, or the fleet's). */
  readonly reason: string;
}

interface TransitionLine {
  readonly msg?: unknown;
  readonly breaker?: unknown;
  readonly to?: unknown;
  readonly source?: unknown;
  readonly reason?: unknown;
  readonly time?: unknown;
}

/**
 * The opening a log line reports for `breaker`, or undefined
 * for any other line (other messages, other states, not JSON).
 */
export function openingFromLogLine(line: string, breaker: string): BreakerOpening | undefined {
  if (!line.includes('"breaker transition"')) return undefined;
  let parsed: TransitionLine;
  try {
    parsed = JSON.parse(line) as TransitionLine;
  } catch {
    return undefined;
  }
  if (parsed.msg !== "breaker transition" || parsed.breaker !== breaker || parsed.to !== "open") return undefined;
  if (parsed.source !== "local" && parsed.source !== "fleet") return undefined;
  const at =
    typeof parsed.time === "string"
      ? Date.parse(parsed.time)
      : typeof parsed.time === "number"
        ? parsed.time
        : Number.NaN;
  if (!Number.isFinite(at)) return undefined;
  return { at, source: parsed.source, reason: typeof parsed.reason === "string" ? parsed.reason : "" };
}

/** The first opening of `breaker` among `lines` from index `from` on, or undefined. */
export function firstOpening(lines: readonly string[], from: number, breaker: string): BreakerOpening | undefined {
  for (let i = from; i < lines.length; i++) {
    const opening = openingFromLogLine(lines[i]!, breaker);
    if (opening !== undefined) return opening;
  }
  return undefined;
}
