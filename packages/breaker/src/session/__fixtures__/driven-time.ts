/** A clock and timers that move only when a test says so; for tests only. */
import type { Clock } from "../../index.js";
import type { SessionTimers, TimerHandle } from "../timers.js";

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** Driven time: `advance(ms)` moves the clock and runs the timers that fall due, in order. */
export class DrivenTime implements Clock, SessionTimers {
  private current: number;
  private pending: Pending[] = [];
  private nextId = 1;

  constructor(start = 1_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), callback };
    this.pending.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** Timers waiting. */
  get timers(): number {
    return this.pending.length;
  }

  /** Moves time on by `ms`, running every timer due on the way (timers they set included). */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending)
        if (p.at <= end && (next === undefined || p.at < next.at || (p.at === next.at && p.id < next.id))) next = p;
      if (next === undefined) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.current = Math.max(this.current, next.at);
      next.callback();
    }
    this.current = end;
  }
}
