/**
 * The coordinator's breakers: one machine per backend name, created on first
 * use with the config resolved for that name, one stream of transitions for
 * all, and one snapshot for the state file.
 */
import { BreakerMachine } from "./breaker-machine.js";
import { BreakerSnapshotError } from "./breaker-snapshot-error.js";
import type { TransitionListener } from "./breaker-state.js";
import type { Random } from "./clock.js";
import type { BreakerConfig } from "./config.js";
import { type BreakerMachineJSON, parseBreakerMachineJSON } from "./machine-snapshot.js";

/** What a breaker set is built from. */
export interface BreakerSetOptions {
  /** The config of the breaker `name` (a BreakerConfigSet's resolveConfig). */
  readonly resolveConfig: (name: string) => BreakerConfig;
  /** Jitter source in [0, 1) shared by all breakers; defaults to Math.random. */
  readonly random?: Random | undefined;
}

/** Every breaker as saved in the snapshot file. */
export interface BreakerSetJSON {
  readonly format: 1;
  /** When it was saved (ms epoch), for operators. */
  readonly savedAt: number;
  readonly breakers: readonly BreakerMachineJSON[];
}

/** The set of breakers the coordinator holds, by name. */
export class BreakerSet {
  private readonly machines = new Map<string, BreakerMachine>();
  private readonly listeners = new Set<TransitionListener>();
  private readonly resolveConfig: (name: string) => BreakerConfig;
  private readonly random: Random | undefined;
  private readonly emit: TransitionListener = (t) => {
    for (const listener of this.listeners) listener(t);
  };

  constructor(options: BreakerSetOptions) {
    this.resolveConfig = options.resolveConfig;
    this.random = options.random;
  }

  /** How many breakers there are. */
  get size(): number {
    return this.machines.size;
  }

  /** The breaker `name`, if known. */
  get(name: string): BreakerMachine | undefined {
    return this.machines.get(name);
  }

  /** The breaker `name`, created closed at `now` if it is new (an instance said hello with it). */
  ensure(name: string, now: number): BreakerMachine {
    let machine = this.machines.get(name);
    if (machine === undefined) {
      machine = new BreakerMachine(
        { name, config: this.resolveConfig(name), random: this.random, onTransition: this.emit },
        now,
      );
      this.machines.set(name, machine);
    }
    return machine;
  }

  /** The breakers, sorted by name. */
  list(): BreakerMachine[] {
    return [...this.machines.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Forgets the breaker `name`; true if it existed. */
  delete(name: string): boolean {
    return this.machines.delete(name);
  }

  /** Subscribes to every breaker's transitions; returns the unsubscribe function. */
  onTransition(listener: TransitionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies the changes due by `now` in every breaker (emitting their transitions). */
  tick(now: number): void {
    for (const machine of this.machines.values()) machine.tick(now);
  }

  /** The earliest time any breaker has a change due by time alone; undefined when none. */
  nextChangeAt(): number | undefined {
    let next: number | undefined;
    for (const machine of this.machines.values()) {
      const at = machine.nextChangeAt;
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  /** Every breaker for the snapshot file, as of `now`. */
  toJSON(now: number): BreakerSetJSON {
    return { format: 1, savedAt: now, breakers: this.list().map((m) => m.toJSON(now)) };
  }

  /**
   * Loads a snapshot at `now`: each saved breaker replaces the one of its name
   * unless that one is newer (a higher version), so versions never go back.
   * Config comes from `resolveConfig`, as it is now. Throws a
   * BreakerSnapshotError, and changes nothing, when the snapshot is malformed.
   */
  restore(json: unknown, now: number): void {
    if (typeof json !== "object" || json === null || (json as { format?: unknown }).format !== 1) {
      throw new BreakerSnapshotError("snapshot: must be an object with format 1");
    }
    const saved = (json as { breakers?: unknown }).breakers;
    if (!Array.isArray(saved)) throw new BreakerSnapshotError("snapshot.breakers: must be a list");
    const entries = saved.map((entry: unknown, i) => parseBreakerMachineJSON(entry, `snapshot.breakers[${i}]`));
    for (const entry of entries) {
      const current = this.machines.get(entry.name);
      if (current !== undefined && current.version > entry.version) continue;
      const options = { config: this.resolveConfig(entry.name), random: this.random, onTransition: this.emit };
      this.machines.set(entry.name, BreakerMachine.restore(entry, options, now));
    }
  }
}
