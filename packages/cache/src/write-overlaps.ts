/**
 * Which writes of a key overlapped another write of the same key in this
 * process. Storage decides the order of overlapping writes, and its answers
 * may arrive in the other order, so the cache cannot know which body won:
 * such a write invalidates instead of keeping its body.
 */
export interface WriteOverlaps {
  /** Marks a write of `key` as begun; call `end()` on the handle when it settles. */
  begin(key: string): WriteInFlight;
}

/** One write in progress. */
export interface WriteInFlight {
  /** True when another write of the key ran at some moment during this one. */
  overlapped(): boolean;
  end(): void;
}

export function createWriteOverlaps(): WriteOverlaps {
  // Per key: writes in flight, and whether any two of the current run overlapped.
  const active = new Map<string, { count: number; overlapped: boolean }>();
  return {
    begin(key) {
      let run = active.get(key);
      if (run === undefined) active.set(key, (run = { count: 0, overlapped: false }));
      run.count++;
      if (run.count > 1) run.overlapped = true;
      const current = run;
      let ended = false;
      return {
        // Conservative: every write of a run that ever had two at once counts as overlapped.
        overlapped: () => current.overlapped,
        end() {
          if (ended) return;
          ended = true;
          if (--current.count === 0 && active.get(key) === current) active.delete(key);
        },
      };
    },
  };
}
