/**
 * The answer of a coordinated breaker's admission check, per request. The
 * common answers are shared objects, so admitting allocates nothing: one
 * frozen "allowed", and per breaker one refusal per open spell (its
 * retryAfterMs is read off the clock when asked).
 */
import type { Clock } from "../index.js";

/** Make the call. */
export interface AllowedAdmission {
  readonly kind: "allowed";
  readonly allowed: true;
}

/** Do not make the call: the breaker is open, or half-open and the probes are someone else's. */
export interface RefusedAdmission {
  readonly kind: "refused";
  readonly allowed: false;
  /** The state that refused (the stricter of the fleet's and the local one). */
  readonly state: "open" | "half-open";
  /** When trying again may help, in ms from when it is read (for Retry-After / retry-after-ms). */
  readonly retryAfterMs: number;
}

/** Make the call as the fleet's half-open trial; pass this admission to `record` so the permit goes back. */
export interface ProbeAdmission {
  readonly kind: "probe";
  readonly allowed: true;
  readonly breaker: string;
  /** The coordinator's permit. */
  readonly permitId: string;
  /** The permit lapses then (ms epoch) if no result comes back. */
  readonly leaseExpiresAt: number;
}

/** What `admit()` answers. */
export type Admission = AllowedAdmission | RefusedAdmission | ProbeAdmission;

/** The one "allowed" answer. */
export const allowedAdmission: AllowedAdmission = Object.freeze({ kind: "allowed", allowed: true });

/** A refusal until a known time (`retryAt`), or for a fixed hint when that time is unknown. */
export class Refusal implements RefusedAdmission {
  readonly kind = "refused";
  readonly allowed = false;

  constructor(
    readonly state: "open" | "half-open",
    /** When the refusing state is due to end (ms epoch); undefined when unknown. */
    readonly retryAt: number | undefined,
    private readonly fallbackMs: number,
    private readonly clock: Clock,
  ) {}

  get retryAfterMs(): number {
    return this.retryAt === undefined ? this.fallbackMs : Math.max(0, this.retryAt - this.clock.now());
  }
}

/** A probe admission for a granted permit. */
export function probeAdmission(breaker: string, permitId: string, leaseExpiresAt: number): ProbeAdmission {
  return Object.freeze({ kind: "probe", allowed: true, breaker, permitId, leaseExpiresAt });
}
