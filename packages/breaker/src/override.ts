/**
 * An operator's override (ForceBreaker): hold a breaker open or closed, with
 * a reason and an optional time to live, after which it lapses back to AUTO.
 */

/** An operator's override mode; "auto" lifts an override. */
export type ForceMode = "open" | "closed" | "auto";

/** An override in effect. */
export interface Override {
  readonly mode: "open" | "closed";
  readonly reason: string;
  /** When it lapses back to AUTO (ms epoch); undefined: until lifted. */
  readonly expiresAt: number | undefined;
  /** Who forced it (the caller's token name), when known. */
  readonly by?: string | undefined;
}

/** What an operator gives with a force. */
export interface ForceOptions {
  /** Shown as the breaker's reason; a default names the mode. */
  readonly reason?: string | undefined;
  /** How long the override holds; undefined or 0: until lifted. */
  readonly ttlMs?: number | undefined;
  /** Who forces it (the caller's token name). */
  readonly by?: string | undefined;
}

/** Builds the override an operator asks for at `now`; a bad ttl throws a RangeError naming the value. */
export function createOverride(mode: "open" | "closed", options: ForceOptions, now: number): Override {
  const ttl = options.ttlMs;
  if (ttl !== undefined && !(Number.isFinite(ttl) && ttl >= 0)) {
    throw new RangeError(`ttlMs must be a finite number ≥ 0, got ${ttl}`);
  }
  const reason = options.reason || `forced ${mode} by an operator`;
  const override = { mode, reason, expiresAt: ttl ? now + ttl : undefined };
  return options.by === undefined ? override : { ...override, by: options.by };
}
