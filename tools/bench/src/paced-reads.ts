import type { cacheV1 } from "@breakwater/proto";
import type { GrpcClient } from "@breakwater/server-kit";

/** gRPC status codes the tally tells apart (the client rejects with a ConnectError carrying them). */
const notFound = 5;
const unavailable = 14;

/** Options of `startPacedReads`. */
export interface PacedReadsOptions {
  /** The replica's CacheService. */
  readonly client: GrpcClient<typeof cacheV1.CacheService>;
  /** Reads started per second, whatever their answers take (open loop). */
  readonly ratePerSecond: number;
  /** The key of the n-th read (n from 0); a key new to the replica makes it ask storage. */
  readonly key: (n: number) => string;
  /** A tick that finds this many reads unanswered starts none (counted as skipped); default 32. */
  readonly maxInFlight?: number;
  /** Deadline of one read; default 2 000 ms. */
  readonly timeoutMs?: number;
}

/** What the reads were answered so far. */
export interface ReadTally {
  started: number;
  /** Answered NOT_FOUND: storage was asked and answered (the keys do not exist). */
  notFound: number;
  /** Answered at all (an object): not expected with fresh keys, but not a failure. */
  found: number;
  /** UNAVAILABLE: storage failed, or its breaker refused the call. */
  unavailable: number;
  /** Any other error. */
  failed: number;
  /** Ticks that started no read because `maxInFlight` were unanswered. */
  skipped: number;
}

/** Steady reads against one replica until stopped. */
export interface PacedReads {
  readonly tally: Readonly<ReadTally>;
  /** Stops starting reads and waits for those in flight. */
  stop(): Promise<void>;
}

/**
 * Starts `ratePerSecond` GetObject calls per second on `client`, each for a
 * fresh key. Paced, not closed-loop: a replica whose breaker refuses answers
 * at once, and a closed loop would then spin and take the cores from the
 * processes being measured. After a stall the schedule moves on rather than
 * bursting to catch up.
 */
export function startPacedReads(options: PacedReadsOptions): PacedReads {
  const { client, key } = options;
  if (!(options.ratePerSecond > 0))
    throw new RangeError(`ratePerSecond must be greater than 0, got ${options.ratePerSecond}`);
  const intervalMs = 1000 / options.ratePerSecond;
  const maxInFlight = options.maxInFlight ?? 32;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const tally: ReadTally = { started: 0, notFound: 0, found: 0, unavailable: 0, failed: 0, skipped: 0 };
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const read = async (n: number): Promise<void> => {
    try {
      for await (const message of client.getObject({ bucket: "default", key: key(n) }, { timeoutMs })) void message;
      tally.found++;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === notFound) tally.notFound++;
      else if (code === unavailable) tally.unavailable++;
      else tally.failed++;
    }
  };
  let next = performance.now();
  const tick = (): void => {
    if (stopped) return;
    if (inFlight.size >= maxInFlight) tally.skipped++;
    else {
      const p = read(tally.started++).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    next = Math.max(next + intervalMs, performance.now());
    timer = setTimeout(tick, next - performance.now());
  };
  tick();
  return {
    tally,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([...inFlight]);
    },
  };
}
