import type { StateFile } from "./state-file.js";

/**
 * Coalesces snapshot writes: while one write runs, later requests share the
 * next one, which starts when it ends and takes the state as of then. Every
 * caller's promise settles once a write that began after its call is done.
 */
export function createPersister(file: StateFile, snapshot: () => unknown, onError: (err: unknown) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const write = (): Promise<void> =>
    file.save(snapshot()).catch((err: unknown) => {
      onError(err);
      throw err;
    });
  return function persist(): Promise<void> {
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
  };
}
