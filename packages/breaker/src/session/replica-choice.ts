/**
 * Which coordinator replica the next session opens on (COORDINATOR_URL may
 * name several). The first is picked at random so a fleet spreads over the
 * replicas; after a failure the next is a random one not yet failed since the
 * last session, never the one that just failed, so the instances of a lost
 * replica spread over the survivors too. Only once every replica has failed
 * does the caller back off; with one replica, that is every failure.
 */
import type { Random } from "../index.js";

/** The choice of replica across a link's attempts; the list is passed on each call, so it may change (DNS). */
export class ReplicaChoice {
  private readonly failedSinceSession = new Set<string>();
  private lastFailed: string | undefined;

  constructor(private readonly random: Random) {}

  /**
   * The replica to try next, one of `replicas` (which must name at least
   * one): a random one among those not failed since the last session and not
   * the last to fail, as long as there is such a one.
   */
  next(replicas: readonly string[]): string {
    if (replicas.length === 0) throw new RangeError("replicas must name at least one coordinator, got none");
    const fresh = replicas.filter((r) => !this.failedSinceSession.has(r) && r !== this.lastFailed);
    const others = replicas.filter((r) => r !== this.lastFailed);
    const candidates = fresh.length > 0 ? fresh : others.length > 0 ? others : replicas;
    if (candidates.length === 1) return candidates[0]!; // spares a draw: one replica consumes no randomness
    return candidates[Math.min(candidates.length - 1, Math.floor(this.random() * candidates.length))]!;
  }

  /**
   * An attempt on `replica` failed, or its session was lost. Answers true when
   * every one of `replicas` has now failed since the last session: the caller
   * backs off before the next attempt, and a new round of replicas begins.
   */
  failed(replica: string, replicas: readonly string[]): boolean {
    this.lastFailed = replica;
    this.failedSinceSession.add(replica);
    if (!replicas.every((r) => this.failedSinceSession.has(r))) return false;
    this.failedSinceSession.clear();
    return true;
  }

  /** A session came up: every replica is worth trying again first. */
  succeeded(): void {
    this.failedSinceSession.clear();
    this.lastFailed = undefined;
  }
}
