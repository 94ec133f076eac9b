/**
 * Answer counters by cache status: every answer counts once, under the status
 * it carried, so the stats add up to the answers given.
 */
import type { CacheStatus } from "./object-cache-api.js";

/** Answers counted per status (GetStats' hits, misses, …). */
export interface StatusCounts {
  readonly hits: number;
  readonly misses: number;
  readonly staleServed: number;
  readonly revalidations: number;
  readonly coalesced: number;
  readonly bypassed: number;
}

/** Counts answers. */
export interface StatusCounters {
  /** Counts an answer and hands it back. */
  count<R extends { readonly status: CacheStatus }>(answer: R): R;
  snapshot(): StatusCounts;
}

const field = {
  HIT: "hits",
  MISS: "misses",
  STALE: "staleServed",
  REVALIDATED: "revalidations",
  COALESCED: "coalesced",
  BYPASS: "bypassed",
} as const satisfies Record<CacheStatus, keyof StatusCounts>;

/** Creates {@link StatusCounters}, all at zero. */
export function createStatusCounters(): StatusCounters {
  const counts = { hits: 0, misses: 0, staleServed: 0, revalidations: 0, coalesced: 0, bypassed: 0 };
  return {
    count(answer) {
      counts[field[answer.status]]++;
      return answer;
    },
    snapshot: () => ({ ...counts }),
  };
}
