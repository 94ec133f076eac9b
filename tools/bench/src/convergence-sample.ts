import type { BreakerOpening } from "./transition-log.js";

/** One storage request as the recorder saw it, with the replica that sent it. */
export interface ObservedRequest {
  /** Arrival, `Date.now()` ms. */
  readonly at: number;
  /** Index of the sending replica; -1 when the path names none. */
  readonly replica: number;
  /** Status answered; undefined when no answer came. */
  readonly status: number | undefined;
  /** When that answer went back, `Date.now()` ms. */
  readonly answeredAt: number | undefined;
}

/** Everything one run observed, all on the machine's wall clock (ms). */
export interface RunObservations {
  /** Storage requests that were unanswered when the proxy was switched to 503 or came later, in arrival order. */
  readonly requests: readonly ObservedRequest[];
  /** Each replica's first transition to open after the switch, from its log. */
  readonly openings: readonly BreakerOpening[];
  /** The coordinator's OPEN transition (GetBreaker `since`); undefined when the fleet breaker did not open. */
  readonly fleetOpenAt: number | undefined;
  /** The breakers' consecutive_failures: the failing answer that should trip a replica's own breaker. */
  readonly consecutiveFailures: number;
}

/** One replica's part of a run, in ms from the first failing answer. */
export interface ReplicaConvergence {
  /** Until its breaker opened (its log). */
  readonly openMs: number;
  readonly source: BreakerOpening["source"];
  /**
   * Failing answers (503) sent to it by the time its breaker opened:
   * consecutive_failures when its own breaker tripped on them as they came,
   * more when it took them in later than they were sent.
   */
  readonly failuresBeforeOpen: number;
  /**
   * For a replica whose own breaker tripped: from the consecutive_failures-th
   * 503 sent to it to its opening — how long the replica took to take in
   * the answer that tripped it (S3 client, breaker, log); NaN otherwise,
   * and when a late success may have moved the tripping answer.
   */
  readonly reactionMs: number;
  /**
   * Storage answers other than failures (a 404 to a read that reached S3
   * before the switch) it got after the first failing answer: each ends a
   * run of consecutive failures, so its breaker needs more of them.
   */
  readonly lateSuccesses: number;
  /** Until its last storage request arrived; 0 when it sent none after the first failure. */
  readonly lastRequestMs: number;
  /** Its storage requests from the first failing one on (that one included). */
  readonly failedRequests: number;
  /** Of those, arrived after its own breaker opened (same ms counts as before). */
  readonly afterOwnOpen: number;
  /** Of those, arrived after the coordinator's OPEN; NaN when the fleet did not open. */
  readonly afterFleetOpen: number;
}

/** One run, in ms from the first failing storage answer. */
export interface ConvergenceSample {
  /** Until the last replica's breaker opened: the fleet converged. */
  readonly allOpenMs: number;
  /** Until the first replica's breaker opened. */
  readonly firstOpenMs: number;
  /** Until the coordinator's breaker opened; NaN when it did not. */
  readonly fleetOpenMs: number;
  /** The longest `reactionMs` of the replicas whose own breaker tripped; NaN when none did. */
  readonly reactionMs: number;
  /** Until the last storage request of the replica that sent one last (the proxy's view of "every replica stopped"). */
  readonly lastRequestMs: number;
  /** Storage requests from the first failing one on, all replicas (and unknown senders). */
  readonly failedRequests: number;
  readonly replicas: readonly ReplicaConvergence[];
}

/**
 * Turns one run's observations into its figures. The origin is the first
 * failing answer: the earliest time a 503 went back to a replica. Requests
 * count from the first one answered 503 on, in arrival order (once the
 * proxy fails, every later arrival fails too; one that got through before
 * the switch and is answered late is left out), so no count hinges on two
 * times falling into the same millisecond. Throws when no request failed:
 * the run then measured nothing.
 */
export function convergenceSample(run: RunObservations): ConvergenceSample {
  const first = run.requests.findIndex((r) => r.status === 503);
  if (first < 0)
    throw new Error(`no storage request was answered 503 (${run.requests.length} requests after the switch)`);
  const t0 = Math.min(
    ...run.requests.filter((r) => r.status === 503 && r.answeredAt !== undefined).map((r) => r.answeredAt!),
  );
  // A read that reached S3 before the switch may still be answered
  // (404) after the first 503: it did not meet the failure.
  const failing = run.requests.slice(first).filter((r) => r.status === undefined || r.status >= 500);
  const fleetOpenAt = run.fleetOpenAt;
  const replicas = run.openings.map((opening, i): ReplicaConvergence => {
    const own = failing.filter((r) => r.replica === i);
    const lateSuccesses = run.requests.filter(
      (r) =>
        r.replica === i && r.status !== undefined && r.status < 500 && r.answeredAt !== undefined && r.answeredAt > t0,
    ).length;
    const failedAnswers = own
      .flatMap((r) => (r.status === 503 && r.answeredAt !== undefined ? [r.answeredAt] : []))
      .sort((a, b) => a - b);
    return {
      openMs: opening.at - t0,
      source: opening.source,
      // An answer and the opening in the same ms: the answer came
      // first (the replica cannot open on an answer it has not had).
      failuresBeforeOpen: failedAnswers.filter((at) => at <= opening.at).length,
      // A success among the failures moves the tripping one later: no figure then.
      reactionMs:
        opening.source === "local" && lateSuccesses === 0 && failedAnswers.length >= run.consecutiveFailures
          ? opening.at - failedAnswers[run.consecutiveFailures - 1]!
          : Number.NaN,
      lateSuccesses,
      lastRequestMs: own.length === 0 ? 0 : Math.max(0, ...own.map((r) => r.at - t0)),
      failedRequests: own.length,
      afterOwnOpen: own.filter((r) => r.at > opening.at).length,
      afterFleetOpen: fleetOpenAt === undefined ? Number.NaN : own.filter((r) => r.at > fleetOpenAt).length,
    };
  });
  if (replicas.length === 0) throw new Error("a run needs at least one replica");
  const reactions = replicas.map((r) => r.reactionMs).filter((ms) => !Number.isNaN(ms));
  return {
    allOpenMs: Math.max(...replicas.map((r) => r.openMs)),
    firstOpenMs: Math.min(...replicas.map((r) => r.openMs)),
    fleetOpenMs: fleetOpenAt === undefined ? Number.NaN : fleetOpenAt - t0,
    reactionMs: reactions.length === 0 ? Number.NaN : Math.max(...reactions),
    lastRequestMs: Math.max(...replicas.map((r) => r.lastRequestMs)),
    failedRequests: failing.length,
    replicas,
  };
}
