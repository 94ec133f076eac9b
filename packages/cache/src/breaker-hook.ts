/**
 * The cache's side of a circuit breaker: ask before each storage call, report
 * how it went. The breaker itself lives elsewhere (@breakwater/breaker); this
 * is the minimal seam, so the pure core depends on no breaker implementation.
 */
import type { Clock } from "./clock.js";
import { CacheError, isCacheError } from "./errors.js";

/**
 * An admission answer: `allowed` admits; otherwise the call is refused
 * (breaker open), with a retry hint when known. A breaker may hand out richer
 * answers (a half-open probe's permit); the cache gives the same object back
 * to `record`, so the permit returns with the call's outcome.
 */
export type Admission =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs?: number | undefined };

/** What the cache needs from a breaker guarding its storage backend. */
export interface BreakerHook<A extends Admission = Admission> {
  /** Called before every storage call; a refusal means the call is not made. */
  admit(): A;
  /**
   * Called once per admitted call that finished, with the admission it got:
   * `ok` unless storage failed (see {@link classifyOutcome}). Not called for
   * calls their caller cancelled.
   */
  record(admission: A, ok: boolean, durationMs: number): void;
}

const admitted: Admission = Object.freeze({ allowed: true });

/** How a storage call ended, as a breaker counts it. */
export type StorageOutcome = "success" | "failure" | "cancelled";

/**
 * Classifies a storage error (design.md "Breakers"): "unavailable" and
 * anything that is not a CacheError (a bug or an unmapped transport error)
 * count as failures; not-found, precondition-failed, invalid-argument,
 * range-not-satisfiable and too-large mean the backend answered.
 */
export function classifyOutcome(error: unknown): StorageOutcome {
  if (!isCacheError(error)) return isAbortError(error) ? "cancelled" : "failure";
  switch (error.kind) {
    case "unavailable":
      return "failure";
    case "cancelled":
      return "cancelled";
    case "not-found":
    case "precondition-failed":
    case "invalid-argument":
    case "range-not-satisfiable":
    case "too-large":
      return "success";
  }
}

/** Runs storage calls through a breaker hook, timing them with the clock. */
export interface StorageGuard {
  /**
   * Admits, runs and records `call`. Refused: CacheError "unavailable" with
   * the hook's retryAfterMs. Errors come out as CacheErrors: unknown ones as
   * "unavailable" (their cause kept), any after `signal` aborted as "cancelled".
   */
  run<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** Creates a {@link StorageGuard}; without a hook it only maps errors. */
export function createStorageGuard(hook: BreakerHook | undefined, clock: Clock): StorageGuard {
  return {
    async run(call, signal) {
      const admission = hook?.admit() ?? admitted;
      if (!admission.allowed) {
        throw new CacheError("unavailable", "storage is unavailable (breaker open)", {
          retryAfterMs: admission.retryAfterMs,
        });
      }
      const started = clock.now();
      try {
        const value = await call();
        hook?.record(admission, true, clock.now() - started);
        return value;
      } catch (e) {
        const error = signal?.aborted
          ? new CacheError("cancelled", "the call was cancelled", { cause: signal.reason })
          : asCacheError(e);
        const outcome = classifyOutcome(error);
        if (outcome !== "cancelled") hook?.record(admission, outcome === "success", clock.now() - started);
        throw error;
      }
    },
  };
}

/** A CacheError as is; an abort as "cancelled"; anything else as "unavailable". */
export function asCacheError(e: unknown): CacheError {
  if (isCacheError(e)) return e;
  if (isAbortError(e)) return new CacheError("cancelled", "the call was cancelled", { cause: e });
  return new CacheError("unavailable", "storage failed", { cause: e });
}

function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === "AbortError";
}
