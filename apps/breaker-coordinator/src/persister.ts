import type { StateFile } from "./state-file.js";

/** What saving the state tells the app (to log and count). */
export interface PersisterEvents {
  /** A save failed; `inARow` counts the failures since the last good save (1 for the first). */
  onError(err: unknown, inARow: number): void;
  /** A save worked after `failed` saves in a row had failed. */
  onRecovered?(failed: number): void;
}

/** Saves the state, coalescing, and remembers whether the last save failed. */
export interface Persister {
  /** Resolves once a write that began after the call is done (rejects if that write failed). */
  persist(): Promise<void>;
  /** True while the last save failed: what is on disk may be behind (retry with `persist`). */
  readonly failing: boolean;
}

/**
 * Coalesces snapshot writes: while one write runs, later requests share the
 * next one, which starts when it ends and takes the state as of then. Every
 * caller's promise settles once a write that began after its call is done.
 */
export function createPersister(
  file: Pick<StateFile, "save">,
  snapshot: () => unknown,
  events: PersisterEvents,
): Persister {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  let inARow = 0;
  const write = (): Promise<void> =>
    file.save(snapshot()).then(
      () => {
        if (inARow > 0) events.onRecovered?.(inARow);
        inARow = 0;
      },
      (err: unknown) => {
        events.onError(err, ++inARow);
        throw err;
      },
    );
  return {
    get failing() {
      return inARow > 0;
    },
    persist(): Promise<void> {
      if (running === undefined) {
        running = write().finally(() => (running = undefined));
        return running;
      }
      next ??= running
        .catch(() => undefined)
        .then(() => {
          next = undefined;
          running = write().finally(() => (running = undefined));
          return running;
        });
      return next;
    },
  };
}
