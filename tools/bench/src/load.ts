/** Options of `runLoad`. */
export interface LoadOptions {
  /** Calls kept in flight: this many workers, each starting its next call when the last one settles. */
  readonly inFlight: number;
  /** No call starts after this long; the calls in flight then finish and are counted. */
  readonly durationMs: number;
  /** One call; resolves with the number of response messages it received. `worker` is 0…inFlight-1. */
  readonly call: (worker: number) => Promise<number>;
  /** Milliseconds on a monotonic clock; default `performance.now` (tests pass their own). */
  readonly now?: () => number;
}

/** What a load run did. */
export interface LoadResult {
  readonly calls: number;
  readonly messages: number;
  /** Wall time from the first call until the last one settled. */
  readonly elapsedMs: number;
  /** CPU time this (the load generator's) process spent meanwhile. */
  readonly cpuMs: number;
}

/** A load run stopped because a call failed: a benchmark with failing calls measures nothing. */
export class LoadFailedError extends Error {
  override readonly name = "LoadFailedError";
  constructor(
    readonly calls: number,
    override readonly cause: unknown,
  ) {
    super(`a call failed after ${calls} succeeded: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * Keeps `inFlight` calls running for `durationMs` and counts them: a closed
 * loop (each worker waits for its call), so the rate is what the slowest part
 * of the chain (client, server, or the cores they share) sustains. The first
 * failing call stops every worker and rejects with a LoadFailedError.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let calls = 0;
  let messages = 0;
  let failure: { cause: unknown } | undefined;
  const now = options.now ?? (() => performance.now());
  const cpuBefore = process.cpuUsage();
  const started = now();
  const deadline = started + options.durationMs;
  const worker = async (id: number): Promise<void> => {
    while (failure === undefined && now() < deadline) {
      try {
        const received = await options.call(id); // not `messages += await …`: that reads `messages` before the await
        messages += received;
        calls++;
      } catch (err) {
        failure ??= { cause: err };
      }
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, (_, id) => worker(id)));
  const elapsedMs = now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  if (failure !== undefined) throw new LoadFailedError(calls, failure.cause);
  return { calls, messages, elapsedMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}
