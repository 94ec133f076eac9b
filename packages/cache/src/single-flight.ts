/**
 * Joins concurrent loads of one key: the first caller starts the load, later
 * callers wait for the same one. Nothing is remembered after it settles, so a
 * failure reaches everyone who waited and the next call tries again.
 *
 * Cancellation: a waiter whose signal aborts leaves at once (CacheError
 * "cancelled"); the load goes on for the others. Only when nobody waits any
 * more is the load's own signal aborted (and the key freed, so a newcomer
 * starts afresh instead of joining a dying load).
 */
import { CacheError } from "./errors.js";

/** What a waiter gets. */
export interface Flight<T> {
  readonly value: T;
  /**
   * True for exactly one waiter per load: the earliest still waiting (the
   * starter, unless it left). It owns what cannot be shared, e.g. a body
   * stream in the value; the others must not touch that.
   */
  readonly leader: boolean;
}

/** Options of {@link createSingleFlight}. */
export interface SingleFlightOptions<T> {
  /**
   * Called with a load's value when every waiter has left before it arrived,
   * so that resources in it (an open stream) can be released.
   */
  readonly onOrphan?: ((value: T, key: string) => void) | undefined;
}

/** Concurrent loads joined per key. */
export interface SingleFlight<T> {
  /**
   * Runs `load` for `key` unless a load for it is in flight, then waits for
   * that one. `load` receives a signal that aborts when nobody waits any more.
   */
  run(key: string, load: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<Flight<T>>;
  /**
   * Detaches the key's in-flight load: its waiters still get its result, but
   * later callers start a new one (after a write, the old load may carry old
   * bytes).
   */
  forget(key: string): void;
  /** Keys with a load in flight. */
  keys(): IterableIterator<string>;
}

interface Waiter<T> {
  readonly resolve: (flight: Flight<T>) => void;
  readonly reject: (error: unknown) => void;
  release(): void;
}

interface Load<T> {
  readonly controller: AbortController;
  readonly waiters: Set<Waiter<T>>;
  settled: boolean;
}

/** Creates a {@link SingleFlight}. */
export function createSingleFlight<T>(options: SingleFlightOptions<T> = {}): SingleFlight<T> {
  const inFlight = new Map<string, Load<T>>();

  function start(key: string, loader: (signal: AbortSignal) => Promise<T>): Load<T> {
    const load: Load<T> = { controller: new AbortController(), waiters: new Set(), settled: false };
    inFlight.set(key, load);
    let promise: Promise<T>;
    try {
      promise = loader(load.controller.signal);
    } catch (e) {
      promise = Promise.reject(e);
    }
    const settle = (deliver: (waiter: Waiter<T>, index: number) => void, orphan?: () => void) => {
      load.settled = true;
      if (inFlight.get(key) === load) inFlight.delete(key);
      const waiters = [...load.waiters];
      load.waiters.clear();
      if (waiters.length === 0) orphan?.();
      waiters.forEach((w, i) => {
        w.release();
        deliver(w, i);
      });
    };
    promise.then(
      (value) =>
        settle(
          (w, i) => w.resolve({ value, leader: i === 0 }),
          () => options.onOrphan?.(value, key),
        ),
      (error: unknown) => settle((w) => w.reject(error)),
    );
    return load;
  }

  return {
    run(key, loader, signal) {
      if (signal?.aborted) return Promise.reject(cancelled(signal));
      const load = inFlight.get(key) ?? start(key, loader);
      return new Promise<Flight<T>>((resolve, reject) => {
        const waiter: Waiter<T> = { resolve, reject, release: () => {} };
        load.waiters.add(waiter);
        if (signal === undefined) return;
        const onAbort = () => {
          if (!load.waiters.delete(waiter)) return;
          reject(cancelled(signal));
          if (load.waiters.size === 0 && !load.settled) {
            if (inFlight.get(key) === load) inFlight.delete(key);
            load.controller.abort(signal.reason);
          }
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.release = () => signal.removeEventListener("abort", onAbort);
      });
    },
    forget(key) {
      inFlight.delete(key);
    },
    keys: () => inFlight.keys(),
  };
}

function cancelled(signal: AbortSignal): CacheError {
  return new CacheError("cancelled", "the read was cancelled", { cause: signal.reason });
}
