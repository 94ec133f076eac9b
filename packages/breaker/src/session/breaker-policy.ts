/**
 * A coordinated breaker as a cockatiel policy, so it composes with
 * cockatiel's retry and bulkhead (`wrap`) like cockatiel's own
 * circuitBreaker — but with the fleet's shared state behind it (design.md
 * "Stack"). Refusals throw a BreakerOpenError without calling the function.
 */
import {
  BulkheadRejectedError,
  EventEmitter,
  type IDefaultPolicyContext,
  type IFailureEvent,
  type IPolicy,
  type ISuccessEvent,
} from "cockatiel";
import { BreakerOpenError, isBreakerOpenError } from "./breaker-open-error.js";
import type { CoordinatedBreaker } from "./coordinated-breaker.js";

/** Options of a breaker policy. */
export interface BreakerPolicyOptions {
  /**
   * Whether a thrown error means the backend failed (default: every error).
   * Return false for answers such as NotFound / 404 / 412: the backend
   * answered, which counts as a success. A BreakerOpenError (a nested
   * breaker's refusal) and a cockatiel BulkheadRejectedError never count.
   */
  readonly isFailure?: ((error: unknown) => boolean) | undefined;
}

/** True for errors that say nothing about the backend: refusals before any call was made. */
export function isRefusal(error: unknown): boolean {
  return isBreakerOpenError(error) || error instanceof BulkheadRejectedError;
}

const neverAborted = new AbortController().signal;

/** Executes functions through a coordinated breaker: admit, call, record. */
export class BreakerPolicy implements IPolicy<IDefaultPolicyContext> {
  /** Type-only, as in cockatiel's own policies. */
  declare readonly _altReturn: never;
  private readonly successEmitter = new EventEmitter<ISuccessEvent>();
  private readonly failureEmitter = new EventEmitter<IFailureEvent>();
  /** Fires after each call that succeeded or whose error was not a failure. */
  readonly onSuccess = this.successEmitter.addListener;
  /** Fires after each call that threw; `handled` is true when it counted as a failure. */
  readonly onFailure = this.failureEmitter.addListener;
  private readonly isFailure: (error: unknown) => boolean;

  constructor(
    readonly breaker: CoordinatedBreaker,
    options: BreakerPolicyOptions = {},
  ) {
    const isFailure = options.isFailure ?? (() => true);
    this.isFailure = (error) => !isRefusal(error) && isFailure(error);
  }

  /**
   * Admits, runs `fn`, records its outcome. Refused: throws BreakerOpenError
   * at once. A call whose signal was aborted by the caller records nothing
   * (it says nothing about the backend). Bound the call's time with the
   * transport's deadline, not cockatiel's timeout() (design.md "Stack").
   */
  async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal: AbortSignal = neverAborted): Promise<T> {
    const breaker = this.breaker;
    const admission = breaker.admit();
    if (!admission.allowed) throw new BreakerOpenError(breaker.name, admission.state, admission.retryAfterMs);
    // Durations matter only for slow calls and listeners; a clock read costs more than the rest here.
    const timed = breaker.config.slowCallMs !== undefined || this.successEmitter.size > 0 || this.failureEmitter.size > 0;
    const start = timed ? performance.now() : 0;
    let value: T;
    try {
      value = await fn({ signal });
    } catch (error) {
      const duration = timed ? performance.now() - start : 0;
      const failed = this.isFailure(error);
      if (!signal.aborted) breaker.record(!failed, duration, admission);
      if (this.failureEmitter.size > 0) this.failureEmitter.emit({ duration, handled: failed, reason: { error: error as Error } });
      throw error;
    }
    const duration = timed ? performance.now() - start : 0;
    breaker.record(true, duration, admission);
    if (this.successEmitter.size > 0) this.successEmitter.emit({ duration });
    return value;
  }
}
