/**
 * The request-path policy of one backend: cockatiel's retry (exponential
 * backoff with jitter, failures only) around a bulkhead around the
 * coordinated breaker, as one policy built with cockatiel's `wrap()`. No
 * timeout(): it costs ≈10.7 µs and a timer per call here; bound time with
 * the transport's deadline (grpc-js `deadline`, the S3 client's request
 * timeout) instead (design.md "Stack").
 */
import {
  bulkhead as createBulkhead,
  ExponentialBackoff,
  handleWhen,
  type IBackoffFactory,
  type IDefaultPolicyContext,
  type IPolicy,
  type IRetryBackoffContext,
  retry as createRetry,
  wrap,
} from "cockatiel";
import { BreakerPolicy, isRefusal } from "./breaker-policy.js";
import type { CoordinatedBreaker } from "./coordinated-breaker.js";

/** Retries of failed calls. */
export interface RetryOptions {
  /** Retries after the first attempt (default 2). */
  readonly maxAttempts?: number | undefined;
  /** The backoff (default: cockatiel's ExponentialBackoff, decorrelated jitter, 50 ms first, at most 1 s). */
  readonly backoff?: IBackoffFactory<IRetryBackoffContext<unknown>> | undefined;
}

/** Concurrency limit of the calls to one backend. */
export interface BulkheadOptions {
  /** Calls in flight at once. */
  readonly limit: number;
  /** Calls waiting for a slot beyond that (default 0: reject at once with BulkheadRejectedError). */
  readonly queue?: number | undefined;
}

/** What the composed policy is made of. */
export interface ComposePolicyOptions {
  /** Whether a thrown error means the backend failed (default: every error); see BreakerPolicyOptions. */
  readonly isFailure?: ((error: unknown) => boolean) | undefined;
  /** Retry failures (never refusals) with backoff and jitter; omitted: no retries. */
  readonly retry?: RetryOptions | undefined;
  /** Bound concurrency; omitted: no bulkhead. */
  readonly bulkhead?: BulkheadOptions | undefined;
}

/**
 * One cockatiel policy: retry → bulkhead → coordinated breaker → the call.
 * The breaker admits each attempt right before it is made (a queued call
 * holds no probe permit); a refusal is a BreakerOpenError and is not retried.
 */
export function composePolicy(breaker: CoordinatedBreaker, options: ComposePolicyOptions = {}): IPolicy<IDefaultPolicyContext> {
  const isFailure = options.isFailure ?? (() => true);
  const policies: IPolicy<IDefaultPolicyContext>[] = [];
  if (options.retry !== undefined) {
    const maxAttempts = options.retry.maxAttempts ?? 2;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 0) throw new RangeError(`retry.maxAttempts must be an integer ≥ 0, got ${maxAttempts}`);
    const backoff = options.retry.backoff ?? new ExponentialBackoff({ initialDelay: 50, maxDelay: 1_000 });
    const failuresOnly = handleWhen((error) => !isRefusal(error) && isFailure(error));
    policies.push(createRetry(failuresOnly, { maxAttempts, backoff }));
  }
  if (options.bulkhead !== undefined) {
    const { limit, queue = 0 } = options.bulkhead;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`bulkhead.limit must be an integer ≥ 1, got ${limit}`);
    if (!Number.isInteger(queue) || queue < 0) throw new RangeError(`bulkhead.queue must be an integer ≥ 0, got ${queue}`);
    policies.push(createBulkhead(limit, queue));
  }
  policies.push(new BreakerPolicy(breaker, { isFailure }));
  return policies.length === 1 ? policies[0]! : wrap(...policies);
}
