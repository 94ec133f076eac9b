import { BulkheadRejectedError, ConstantBackoff, wrap } from "cockatiel";
import { describe, expect, it, vi } from "vitest";
import { isBreakerOpenError } from "./breaker-open-error.js";
import { BreakerPolicy } from "./breaker-policy.js";
import { composePolicy } from "./compose-policy.js";
import { clientHarness, type ClientHarness } from "./__fixtures__/client-harness.js";

class NotFound extends Error {}
const isFailure = (e: unknown): boolean => !(e instanceof NotFound);

/** The outcomes the breaker recorded so far, as the next report will carry them. */
function reported(h: ClientHarness): { successes: number; failures: number } {
  h.time.advance(100);
  const counts = h.stream.reports().flat();
  return { successes: counts.reduce((n, c) => n + c.successes, 0), failures: counts.reduce((n, c) => n + c.failures, 0) };
}

describe("BreakerPolicy (cockatiel IPolicy)", () => {
  it("runs the call and records a success; an error the classifier clears records a success too", async () => {
    const h = clientHarness();
    h.attach();
    const policy = new BreakerPolicy(h.breaker, { isFailure });
    const signals: AbortSignal[] = [];
    expect(await policy.execute(({ signal }) => (signals.push(signal), 42))).toBe(42);
    await expect(policy.execute(() => Promise.reject(new NotFound("404")))).rejects.toBeInstanceOf(NotFound);
    await expect(policy.execute(() => Promise.reject(new Error("503")))).rejects.toThrow("503");
    expect(signals[0]).toBeInstanceOf(AbortSignal);
    expect(reported(h)).toEqual({ successes: 2, failures: 1 });
  });

  it("refuses without calling: BreakerOpenError with retryAfterMs", async () => {
    const h = clientHarness();
    h.attach();
    h.transition("closed", "open", 2, h.time.now() + 7_000);
    const fn = vi.fn();
    const err: unknown = await new BreakerPolicy(h.breaker).execute(fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(isBreakerOpenError(err)).toBe(true);
    expect(err).toMatchObject({ breaker: h.breaker.name, state: "open", retryAfterMs: 7_000 });
  });

  it("emits cockatiel's onSuccess / onFailure with durations and whether the error counted", async () => {
    const h = clientHarness();
    h.attach();
    const policy = new BreakerPolicy(h.breaker, { isFailure });
    const seen: unknown[] = [];
    const a = policy.onSuccess((e) => seen.push({ ok: e.duration >= 0 }));
    const b = policy.onFailure((e) => seen.push({ handled: e.handled, error: "error" in e.reason ? e.reason.error.message : undefined }));
    await policy.execute(() => 1);
    await policy.execute(() => Promise.reject(new NotFound("nf"))).catch(() => undefined);
    await policy.execute(() => Promise.reject(new Error("down"))).catch(() => undefined);
    a.dispose();
    b.dispose();
    expect(seen).toEqual([{ ok: true }, { handled: false, error: "nf" }, { handled: true, error: "down" }]);
  });

  it("records nothing for a call the caller aborted", async () => {
    const h = clientHarness();
    h.attach();
    const abort = new AbortController();
    abort.abort();
    await new BreakerPolicy(h.breaker).execute(() => Promise.reject(new Error("aborted")), abort.signal).catch(() => undefined);
    expect(reported(h)).toEqual({ successes: 0, failures: 0 });
  });

  it("passes a probe admission back, so its result reaches the coordinator", async () => {
    const h = clientHarness();
    h.attach();
    h.transition("closed", "open", 2, h.time.now() + 1_000);
    h.time.advance(1_000);
    await new BreakerPolicy(h.breaker).execute(() => 1).catch(() => undefined); // refused; asks for a permit
    h.stream.deliver({ kind: "probe-grant", grant: { breaker: h.breaker.name, granted: true, permitId: "p9", leaseExpiresAt: h.time.now() + 5_000 } });
    await new BreakerPolicy(h.breaker).execute(() => 1);
    expect(h.stream.ofKind("probe-result")).toEqual([{ kind: "probe-result", breaker: h.breaker.name, permitId: "p9", success: true }]);
  });

  it("plugs into cockatiel's own wrap()", async () => {
    const h = clientHarness();
    h.attach();
    const policy = wrap(new BreakerPolicy(h.breaker));
    expect(await policy.execute(() => "ok")).toBe("ok");
  });
});

describe("composePolicy: retry → bulkhead → breaker", () => {
  it("retries failures, not answers the classifier clears, and records every attempt", async () => {
    const h = clientHarness({ consecutiveFailures: 100 });
    h.attach();
    const policy = composePolicy(h.breaker, { isFailure, retry: { maxAttempts: 2, backoff: new ConstantBackoff(0) } });
    let calls = 0;
    expect(await policy.execute(() => (++calls < 3 ? Promise.reject(new Error("503")) : "third time"))).toBe("third time");
    expect(calls).toBe(3);
    calls = 0;
    await expect(policy.execute(() => (calls++, Promise.reject(new NotFound())))).rejects.toBeInstanceOf(NotFound);
    expect(calls).toBe(1);
    expect(reported(h)).toEqual({ successes: 2, failures: 2 });
  });

  it("does not retry a refusal: the breaker opening mid-retries ends them with BreakerOpenError", async () => {
    const h = clientHarness();
    h.attach();
    const policy = composePolicy(h.breaker, { retry: { maxAttempts: 10, backoff: new ConstantBackoff(0) } });
    let calls = 0;
    const err = await policy.execute(() => (calls++, Promise.reject(new Error("down")))).catch((e: unknown) => e);
    // consecutive_failures 5 opens the local breaker after the 5th attempt; the 6th is refused.
    expect(calls).toBe(5);
    expect(isBreakerOpenError(err)).toBe(true);
  });

  it("bounds concurrency with a bulkhead, whose rejections never count as failures", async () => {
    const h = clientHarness();
    h.attach();
    const policy = composePolicy(h.breaker, { bulkhead: { limit: 1 } });
    let release!: () => void;
    const first = policy.execute(() => new Promise<void>((r) => (release = r)));
    const second: unknown = await policy.execute(() => undefined).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(BulkheadRejectedError);
    release();
    await first;
    expect(reported(h)).toEqual({ successes: 1, failures: 0 });
  });

  it("is the bare breaker policy when nothing else is asked for", () => {
    const h = clientHarness();
    expect(composePolicy(h.breaker)).toBeInstanceOf(BreakerPolicy);
  });

  it("rejects bad options with a RangeError naming the value", () => {
    const h = clientHarness();
    expect(() => composePolicy(h.breaker, { bulkhead: { limit: 0 } })).toThrow(/bulkhead.limit .* got 0/);
    expect(() => composePolicy(h.breaker, { retry: { maxAttempts: -1 } })).toThrow(/retry.maxAttempts .* got -1/);
  });
});
