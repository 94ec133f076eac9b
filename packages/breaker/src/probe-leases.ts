/**
 * Half-open trial permits as leases (design.md "Breakers"): at most
 * `halfOpenMaxProbes` in flight, each lapsing at its expiry if its holder
 * vanishes, so a breaker can never be stuck half-open.
 */

/** A granted trial call: return its id with the outcome before `expiresAt`. */
export interface ProbePermit {
  readonly granted: true;
  /** Unique within its breaker, restarts included. */
  readonly id: string;
  readonly holder: string;
  /** The lease lapses at this time (ms epoch) if no outcome comes back. */
  readonly expiresAt: number;
}

/** Why no permit was granted, and when asking again may help. */
export interface ProbeRefusal {
  readonly granted: false;
  /** "closed": no probe needed, call freely; "open": not yet half-open; "busy": all permits are out. */
  readonly why: "closed" | "open" | "busy";
  /** When to ask again (open: until half-open; busy: until the first lease lapses); undefined when unknown. */
  readonly retryAfterMs: number | undefined;
}

/** The answer to a probe request. */
export type ProbeAnswer = ProbePermit | ProbeRefusal;

/** Saved leases: the permits out and the next permit number. */
export interface ProbeLeasesJSON {
  readonly permits: readonly ProbePermit[];
  readonly next: number;
}

/** The permits out for one half-open breaker. */
export class ProbeLeases {
  private permits: ProbePermit[] = [];
  private next = 1;

  /** Permits still out (call `expire` first for an exact count). */
  get size(): number {
    return this.permits.length;
  }

  /** Grants a permit to `holder` unless `max` are out. */
  acquire(holder: string, max: number, now: number, leaseMs: number): ProbeAnswer {
    this.expire(now);
    if (this.permits.length >= max) {
      const first = Math.min(...this.permits.map((p) => p.expiresAt));
      return { granted: false, why: "busy", retryAfterMs: Math.max(0, first - now) };
    }
    const permit: ProbePermit = { granted: true, id: `p${this.next++}`, holder, expiresAt: now + leaseMs };
    this.permits.push(permit);
    return permit;
  }

  /** Takes back a permit; false when it is unknown or has lapsed. */
  release(id: string, now: number): boolean {
    this.expire(now);
    const index = this.permits.findIndex((p) => p.id === id);
    if (index === -1) return false;
    this.permits.splice(index, 1);
    return true;
  }

  /** Frees permits whose lease has lapsed at `now`. */
  expire(now: number): void {
    if (this.permits.some((p) => p.expiresAt <= now)) this.permits = this.permits.filter((p) => p.expiresAt > now);
  }

  /** Forgets every permit (leaving half-open); numbering goes on so old ids never match. */
  clear(): void {
    this.permits = [];
  }

  /** The permits out (for operators and snapshots). */
  list(): readonly ProbePermit[] {
    return this.permits;
  }

  toJSON(): ProbeLeasesJSON {
    return { permits: [...this.permits], next: this.next };
  }

  /** Loads saved leases; lapsed ones fall away at the next call. */
  load(json: ProbeLeasesJSON): void {
    this.permits = json.permits.map((p) => ({ granted: true, id: p.id, holder: p.holder, expiresAt: p.expiresAt }));
    this.next = Math.max(this.next, json.next);
  }
}
