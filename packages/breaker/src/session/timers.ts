/**
 * Timers as the session sees them. The session is the one part of the breaker
 * package that needs its own timers (report cadence, heartbeats, reconnects,
 * detaching); they are injected beside the clock so tests drive both.
 */

/** A handle of a scheduled callback, only ever given back to `clearTimeout`. */
export type TimerHandle = unknown;

/** Schedules callbacks after a delay, like the global `setTimeout`. */
export interface SessionTimers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Node's timers, unreferenced: a breaker client alone never keeps a process
 * alive (the open session stream does while it lasts).
 */
export const systemTimers: SessionTimers = {
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
