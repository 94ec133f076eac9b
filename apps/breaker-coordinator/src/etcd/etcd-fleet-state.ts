import {
  BreakerMachine,
  describeBreaker,
  emptyFleetWindow,
  FleetWindow,
  sumFleetWindows,
  trips,
  type BreakerConfig,
  type BreakerDetails,
  type BreakerMachineJSON,
  type BreakerTransition,
  type BreakerView,
  type Clock,
  type FleetWindowJSON,
  type ForceMode,
  type OutcomeCounts,
  type ProbeAnswer,
  type ProbePermit,
  type Random,
} from "@breakwater/breaker";
import { FleetUnavailableError, type FleetState, type RemoteInstance } from "../fleet-state.js";
import type { InstanceRecord } from "../instance-registry.js";
import {
  decodeBreakerRecord,
  encodeBreakerRecord,
  nextChangeOfRecord,
  viewOfRecord,
  type BreakerRecord,
} from "./breaker-record.js";
import type { FleetKeys } from "./fleet-keys.js";
import type { FleetStore, KeptLease, StoreEvent, StoreGuard, StoreWatch, StoreWrite } from "./fleet-store.js";
import { decodeProbeSlot, slotHolds, type ProbeSlot } from "./probe-slot.js";
import { decodePublishedInstance, encodePublishedInstance } from "./published-instance.js";

/** What the app logs and counts. */
export interface EtcdFleetEvents {
  onUnavailable?(why: string, err: unknown): void;
  onAvailable?(): void;
  /**
   * Something done in the background failed: `kind` names what (for throttling), `message` says it for an
   * operator. Decisions are tried again on the next report or tick, publishing on the next flush.
   */
  onBackgroundError?(kind: string, message: string, err: unknown): void;
}

/** What an etcd-backed fleet state is built from. */
export interface EtcdFleetStateOptions {
  readonly store: FleetStore;
  readonly keys: FleetKeys;
  /** This replica's name in etcd (its window summaries and instances). */
  readonly replicaId: string;
  readonly resolveConfig: (name: string) => BreakerConfig;
  readonly clock: Clock;
  readonly random?: Random | undefined;
  /** TTL of the replica's lease: its instances and summaries vanish this long after it dies. */
  readonly leaseTtlSeconds: number;
  /** How often changed summaries and instance records are written (coalesced). */
  readonly flushMs: number;
  /** etcd unanswered this long: the replica stops deciding and says so. */
  readonly lostAfterMs: number;
  /** How often etcd is checked (and, while lost, tried again). */
  readonly checkEveryMs: number;
  readonly events?: EtcdFleetEvents;
}

interface Held {
  readonly record: BreakerRecord;
  readonly modRevision: number;
}

interface HeldSlot {
  readonly slot: ProbeSlot | undefined;
  readonly modRevision: number;
}

/** Conflicting writers in a row before a decision gives up (it is tried again on the next report or tick). */
const MAX_ATTEMPTS = 8;

/**
 * The fleet state of a coordinator replica, kept in etcd and shared by all
 * replicas. A decision restores the pure machine from the breaker's record
 * (plus the summed window summaries and the held probe slots), applies one
 * input, and commits the new record with a transaction that compares the
 * record's mod revision: two replicas never both decide, and versions form
 * one sequence. Transitions reach sessions only from the watch, on every
 * replica alike, in version order.
 */
export class EtcdFleetState implements FleetState {
  readonly #o: EtcdFleetStateOptions;
  readonly #records = new Map<string, Held>();
  readonly #summaries = new Map<string, Map<string, FleetWindowJSON>>();
  readonly #slots = new Map<string, Map<number, HeldSlot>>();
  readonly #remote = new Map<string, RemoteInstance & { replica: string }>();
  readonly #local = new Map<string, FleetWindow>();
  readonly #dirty = new Set<string>();
  /** Breakers whose fleet window is evaluated on the next turn of the event loop. */
  readonly #toEvaluate = new Set<string>();
  readonly #pushed = new Map<string, number>();
  readonly #wanted = new Set<string>();
  readonly #published = new Map<string, string>();
  readonly #running = new Map<string, { again: boolean }>();
  readonly #transitionListeners = new Set<(t: BreakerTransition) => void>();
  readonly #availabilityListeners = new Set<(why: string | undefined) => void>();
  #localInstances: () => readonly RemoteInstance[] = () => [];
  #unavailable: string | undefined = "connecting to etcd";
  #lease: KeptLease | undefined;
  #watch: StoreWatch | undefined;
  #lastOk = 0;
  #lastFlush = 0;
  #flushing = false;
  #connecting: Promise<void> | undefined;
  #checking = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #permits = 0;
  #generation = 0;
  #toldUnreachable = false;

  constructor(options: EtcdFleetStateOptions) {
    this.#o = options;
  }

  /** The instances this replica publishes (its registry, with liveness); set once the coordinator exists. */
  publishInstances(list: () => readonly RemoteInstance[]): void {
    this.#localInstances = list;
  }

  /** Connects (once; a failure leaves it unavailable and tried again) and starts checking etcd. */
  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.#check(), this.#o.checkEveryMs);
    this.#timer.unref();
    await this.#connect();
  }

  /** Stops checking, ends the watch and revokes the lease (this replica's instances vanish at once). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#connecting;
    // etcd may be gone: the revoke is tried, not waited on past a second.
    const bounded = (p: Promise<void> | undefined): Promise<void> =>
      Promise.race([p?.catch(() => undefined), new Promise<void>((r) => setTimeout(r, 1_000).unref())]);
    await bounded(this.#watch?.cancel());
    await bounded(this.#lease?.revoke());
    this.#o.store.close();
  }

  get unavailable(): string | undefined {
    return this.#unavailable;
  }

  onTransition(listener: (t: BreakerTransition) => void): void {
    this.#transitionListeners.add(listener);
  }

  onAvailability(listener: (why: string | undefined) => void): void {
    this.#availabilityListeners.add(listener);
  }

  ensure(names: readonly string[]): void {
    for (const name of names) {
      this.#wanted.add(name);
      if (!this.#records.has(name) && this.#unavailable === undefined) this.#decideSoon(name, "create");
    }
  }

  record(instanceId: string, breaker: string, counts: OutcomeCounts, now: number): void {
    const config = this.#o.resolveConfig(breaker);
    let window = this.#local.get(breaker);
    if (window === undefined) this.#local.set(breaker, (window = new FleetWindow(config)));
    window.record(instanceId, counts.successes, counts.failures, counts.slowCalls ?? 0, now);
    this.#dirty.add(breaker);
    if (this.#unavailable !== undefined) return;
    this.#evaluateLater(breaker);
  }

  /**
   * Evaluates `breaker` once the reports and summaries that arrived with this
   * one are in: summing the fleet's window costs far more than recording a
   * report, and a busy replica receives many per turn of the event loop.
   */
  #evaluateLater(breaker: string): void {
    if (this.#toEvaluate.size === 0) {
      setImmediate(() => {
        const names = [...this.#toEvaluate];
        this.#toEvaluate.clear();
        if (this.#unavailable !== undefined) return;
        const now = this.#o.clock.now();
        for (const name of names) this.#evaluateSoon(name, now);
      });
    }
    this.#toEvaluate.add(breaker);
  }

  // Decides in etcd when the summed window may trip a closed, unforced breaker (the machine checks quorum).
  #evaluateSoon(breaker: string, now: number): void {
    const held = this.#records.get(breaker);
    if (held !== undefined && (held.record.machine.override !== null || held.record.machine.auto.kind !== "closed"))
      return;
    const config = this.#o.resolveConfig(breaker);
    const fleet = new FleetWindow(config);
    fleet.load(this.#fleetWindow(breaker, held?.record.windowFrom ?? 0, now), now);
    if (trips(fleet.total, config)) this.#decideSoon(breaker, "evaluate");
  }

  async acquireProbe(breaker: string, holder: string, now: number): Promise<ProbeAnswer> {
    this.#requireAvailable();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const held = attempt === 0 ? this.#records.get(breaker) : await this.#read(breaker);
      if (held === undefined) return { granted: false, why: "closed", retryAfterMs: undefined };
      const slots = await this.#readSlots(breaker);
      const version = held.record.machine.version;
      const live = [...slots].filter(([, s]) => slotHolds(s.slot, version, now));
      const machine = this.#restore(
        held.record,
        live.map(([, s]) => permitOf(s.slot!)),
        now,
        [],
      );
      if (machine.version !== version) {
        // A change fell due (open time over): committed first, then asked again.
        await this.#transact(breaker, () => undefined);
        continue;
      }
      const answer = machine.acquireProbe(holder, now);
      if (!answer.granted) return answer;
      const config = this.#o.resolveConfig(breaker);
      const index = [...Array(config.halfOpenMaxProbes).keys()].find((i) => !live.some(([slot]) => slot === i))!;
      const leaseId = await this.#o.store.grantLease(Math.max(2, Math.ceil(config.probeLeaseMs / 1000)));
      const permitId = `${this.#o.replicaId}/${++this.#permits}`;
      const key = this.#o.keys.probe(breaker, index);
      const taken = slots.get(index);
      const slot: ProbeSlot = { permitId, holder, expiresAt: answer.expiresAt, version };
      const committed = await this.#o.store.commit(
        [{ key: this.#o.keys.breaker(breaker), modRevision: held.modRevision }, guardOf(key, taken)],
        [{ put: key, value: JSON.stringify(slot), lease: leaseId }],
      );
      if (committed) return { ...answer, id: permitId };
    }
    return { granted: false, why: "busy", retryAfterMs: undefined };
  }

  completeProbe(breaker: string, permitId: string, success: boolean, now: number): void {
    if (this.#unavailable !== undefined) return;
    void (async () => {
      const held = await this.#read(breaker);
      if (held === undefined) return;
      const slots = await this.#readSlots(breaker);
      const version = held.record.machine.version;
      const live = [...slots].filter(([, s]) => slotHolds(s.slot, version, now));
      const mine = live.find(([, s]) => s.slot!.permitId === permitId);
      if (mine === undefined) return; // unknown, lapsed or of an earlier spell: no effect, as in one process
      const key = this.#o.keys.probe(breaker, mine[0]);
      await this.#transact(breaker, (m) => m.completeProbe(permitId, success, now), {
        permits: live.map(([, s]) => permitOf(s.slot!)),
        guards: [{ key, modRevision: mine[1].modRevision }],
        writes: (versionMoved) => (versionMoved ? [] : [{ delete: key }]),
      });
    })().catch((err: unknown) =>
      this.#o.events?.onBackgroundError?.(
        "probe-result",
        `recording a probe result for ${breaker} failed (the permit lapses by itself)`,
        err,
      ),
    );
  }

  forgetInstance(instanceId: string): void {
    for (const [name, window] of this.#local) {
      window.forget(instanceId);
      this.#dirty.add(name);
    }
  }

  tick(now: number): void {
    if (this.#unavailable !== undefined) return;
    for (const [name, held] of this.#records) {
      const due = nextChangeOfRecord(held.record);
      if (due !== undefined && due <= now) this.#decideSoon(name, "time");
    }
    if (now - this.#lastFlush >= this.#o.flushMs) {
      this.#lastFlush = now;
      void this.#flush(now);
    }
  }

  views(): BreakerView[] {
    const views = new Map<string, BreakerView>();
    // Named in a hello but not yet in etcd: closed, version 0, as a new breaker is.
    for (const name of this.#wanted)
      views.set(name, { name, state: "closed", version: 0, openUntil: undefined, forced: false });
    for (const [name, held] of this.#records) views.set(name, viewOfRecord(held.record));
    return [...views.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  describe(name: string, now: number): BreakerDetails | undefined {
    const held = this.#records.get(name);
    if (held === undefined) return undefined;
    const version = held.record.machine.version;
    const live = [...(this.#slots.get(name)?.values() ?? [])].filter((s) => slotHolds(s.slot, version, now));
    const machine = this.#restore(
      held.record,
      live.map((s) => permitOf(s.slot!)),
      now,
      [],
    );
    return this.#details(machine, held.record, now, live.length);
  }

  list(now: number): BreakerDetails[] {
    return [...this.#records.keys()]
      .sort()
      .map((name) => this.describe(name, now)!)
      .filter((d) => d !== undefined);
  }

  async force(name: string, mode: ForceMode, reason: string, ttlMs: number | undefined, now: number, by?: string) {
    const { machine, record } = await this.#confirmed(name, (m) =>
      m.force(mode, { reason: reason || undefined, ttlMs, by }, now),
    );
    return this.#details(machine, record, now, 0);
  }

  async reset(name: string, now: number) {
    this.#requireAvailable();
    if (!this.#records.has(name) && (await this.#read(name).catch(() => undefined)) === undefined) return undefined;
    const { machine, record } = await this.#confirmed(name, (m) => m.reset(now));
    return this.#details(machine, record, now, 0);
  }

  remoteInstances(): readonly RemoteInstance[] {
    return [...this.#remote.values()];
  }

  // An operator's change, answered once etcd committed it (an unknown outcome says so).
  async #confirmed(name: string, apply: (m: BreakerMachine) => void) {
    this.#requireAvailable();
    try {
      return await this.#transact(name, apply);
    } catch (err) {
      if (err instanceof FleetUnavailableError) throw err;
      throw new FleetUnavailableError(
        "etcd did not confirm the change in time (it may or may not be in effect: read it back with GetBreaker)",
        err,
      );
    }
  }

  #details(machine: BreakerMachine, record: BreakerRecord, now: number, probes: number): BreakerDetails {
    // What is committed, not what the restored machine would make of time since: versions match WatchBreakers.
    const m = record.machine;
    return {
      ...describeBreaker(machine, now),
      ...viewOfRecord(record),
      since: m.since,
      reason: m.reason,
      override: m.override ?? undefined,
      reopenCount: m.reopens,
      halfOpenSuccesses: m.auto.kind === "half-open" ? m.auto.successes : 0,
      probesInFlight: m.auto.kind === "half-open" && m.override === null ? probes : 0,
    };
  }

  // One decision per breaker at a time on this replica; asked again while running, it runs once more after.
  #decideSoon(name: string, why: string): void {
    const running = this.#running.get(name);
    if (running !== undefined) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.#running.set(name, state);
    void (async () => {
      do {
        state.again = false;
        if (this.#unavailable !== undefined) break;
        await this.#transact(name, evaluate).catch((err: unknown) =>
          this.#o.events?.onBackgroundError?.(why, `deciding ${name} (${why}) failed: tried again`, err),
        );
      } while (state.again);
    })().finally(() => this.#running.delete(name));
  }

  /**
   * Restores the breaker from its record (fresh from etcd after a conflict), applies `apply`, and commits the
   * new record if anything but outcomes moved, comparing the record's mod revision. Transitions due by time
   * are applied by the restore itself, so any decision also commits them.
   */
  async #transact<R>(
    name: string,
    apply: (m: BreakerMachine, now: number) => R,
    extra: {
      permits?: readonly ProbePermit[];
      guards?: readonly StoreGuard[];
      writes?: (versionMoved: boolean) => StoreWrite[];
    } = {},
  ): Promise<{ machine: BreakerMachine; record: BreakerRecord; result: R }> {
    const generation = this.#generation;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      this.#requireAvailable();
      const held = attempt === 0 ? this.#records.get(name) : await this.#read(name);
      const now = this.#o.clock.now();
      const config = this.#o.resolveConfig(name);
      const base: BreakerRecord = held?.record ?? {
        format: 1,
        machine: new BreakerMachine({ name, config }, now).toJSON(now),
        windowFrom: 0,
        transitions: [],
      };
      const transitions: BreakerTransition[] = [];
      const window = this.#fleetWindow(name, base.windowFrom, now);
      const machine = this.#restore(base, extra.permits ?? [], now, transitions, window);
      const result = apply(machine, now);
      const after = machine.toJSON(now);
      if (held !== undefined && stateOf(after) === stateOf(base.machine)) return { machine, record: base, result };
      const versionMoved = after.version !== base.machine.version;
      // The window was cleared (a clean close, a reset): every replica's older buckets stop counting.
      const cleared = window.total.buckets.length > 0 && after.window.total.buckets.length === 0;
      const record: BreakerRecord = {
        format: 1,
        machine: { ...after, window: emptyFleetWindow, probes: { permits: [], next: after.probes.next } },
        windowFrom: cleared ? now : base.windowFrom,
        transitions,
      };
      const key = this.#o.keys.breaker(name);
      const guards: StoreGuard[] = [
        held === undefined ? { key, absent: true } : { key, modRevision: held.modRevision },
        ...(extra.guards ?? []),
      ];
      const writes: StoreWrite[] = [
        { put: key, value: encodeBreakerRecord(record) },
        // Permits of the spell that ended are void.
        ...(versionMoved ? [{ deletePrefix: this.#o.keys.probes(name) }] : []),
        ...(extra.writes?.(versionMoved) ?? []),
      ];
      if (generation !== this.#generation) throw new FleetUnavailableError("etcd was lost during the decision");
      if (await this.#o.store.commit(guards, writes)) {
        this.#lastOk = this.#o.clock.now();
        return { machine, record, result };
      }
    }
    throw new Error(`${MAX_ATTEMPTS} conflicting writes in a row on ${name}; tried again on the next report or tick`);
  }

  #restore(
    record: BreakerRecord,
    permits: readonly ProbePermit[],
    now: number,
    transitions: BreakerTransition[],
    window = this.#fleetWindow(record.machine.name, record.windowFrom, now),
  ): BreakerMachine {
    const json: BreakerMachineJSON = {
      ...record.machine,
      window,
      probes: { permits: [...permits], next: record.machine.probes.next },
    };
    const config = this.#o.resolveConfig(record.machine.name);
    return BreakerMachine.restore(
      json,
      { config, random: this.#o.random, onTransition: (t) => transitions.push(t) },
      now,
    );
  }

  // The fleet's window: the other replicas' summaries and this replica's own, from `from` on.
  #fleetWindow(name: string, from: number, now: number): FleetWindowJSON {
    const parts = [...(this.#summaries.get(name)?.values() ?? [])];
    const own = this.#local.get(name);
    if (own !== undefined) parts.push(own.toJSON(now));
    return sumFleetWindows(parts, from);
  }

  async #read(name: string): Promise<Held | undefined> {
    const key = this.#o.keys.breaker(name);
    const { values } = await this.#o.store.range(key);
    const found = values.find((v) => v.key === key);
    if (found === undefined) return undefined;
    const held = { record: decodeBreakerRecord(found.value), modRevision: found.modRevision };
    this.#lastOk = this.#o.clock.now();
    return held;
  }

  async #readSlots(name: string): Promise<Map<number, HeldSlot>> {
    const prefix = this.#o.keys.probes(name);
    const { values } = await this.#o.store.range(prefix);
    const slots = new Map<number, HeldSlot>();
    for (const v of values) {
      const parsed = this.#o.keys.parse(v.key);
      if (parsed?.kind === "probe")
        slots.set(parsed.slot, { slot: decodeProbeSlot(v.value), modRevision: v.modRevision });
    }
    return slots;
  }

  #requireAvailable(): void {
    if (this.#unavailable !== undefined) throw new FleetUnavailableError(this.#unavailable);
  }

  // Writes the changed window summaries and instance records under the replica's lease, in one transaction.
  async #flush(now: number): Promise<void> {
    const lease = this.#lease;
    if (this.#flushing || lease === undefined) return;
    const writes: StoreWrite[] = [];
    const values = new Map<string, string | undefined>();
    for (const name of this.#dirty) {
      const window = this.#local.get(name);
      const json = window?.toJSON(now);
      const key = this.#o.keys.window(name, this.#o.replicaId);
      values.set(key, json === undefined ? undefined : JSON.stringify(json));
    }
    const listed = new Set<string>();
    for (const { record, live } of this.#localInstances()) {
      const key = this.#o.keys.instance(record.instanceId, this.#o.replicaId);
      listed.add(key);
      values.set(key, encodePublishedInstance(this.#o.replicaId, record, live));
    }
    for (const key of this.#published.keys()) {
      if (key.startsWith(this.#o.keys.instances) && !listed.has(key)) values.set(key, undefined);
    }
    for (const [key, value] of values) {
      if (this.#published.get(key) === value) continue;
      writes.push(value === undefined ? { delete: key } : { put: key, value, lease: lease.id });
    }
    if (writes.length === 0) return;
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    this.#flushing = true;
    try {
      // etcd caps a transaction's operations (128 by default).
      for (let i = 0; i < writes.length; i += 100) await this.#o.store.commit([], writes.slice(i, i + 100));
      for (const [key, value] of values) {
        if (value === undefined) this.#published.delete(key);
        else this.#published.set(key, value);
      }
      this.#lastOk = this.#o.clock.now();
    } catch (err) {
      for (const name of dirty) this.#dirty.add(name);
      this.#o.events?.onBackgroundError?.(
        "publish",
        "publishing window summaries and instances failed: tried again on the next flush",
        err,
      );
    } finally {
      this.#flushing = false;
    }
  }

  // Checks etcd; past `lostAfterMs` without an answer the replica stops deciding. While lost, reconnects.
  async #check(): Promise<void> {
    if (this.#checking || this.#closed) return;
    this.#checking = true;
    try {
      if (this.#unavailable !== undefined) return void (await this.#connect());
      try {
        await this.#o.store.range(`${this.#o.keys.prefix}alive`);
        this.#lastOk = this.#o.clock.now();
      } catch (err) {
        const silentMs = this.#o.clock.now() - this.#lastOk;
        if (silentMs >= this.#o.lostAfterMs) this.#lose(`etcd has not answered for ${silentMs} ms`, err);
      }
    } finally {
      this.#checking = false;
    }
  }

  #connect(): Promise<void> {
    this.#connecting ??= this.#connectOnce().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connectOnce(): Promise<void> {
    if (this.#closed) return;
    const generation = this.#generation;
    let lease: KeptLease | undefined;
    let watch: StoreWatch | undefined;
    try {
      lease = await this.#o.store.keepLease(this.#o.leaseTtlSeconds, (err) => {
        if (this.#lease === lease) this.#lose("this replica's etcd lease was lost", err);
      });
      const { values, revision } = await this.#o.store.range(this.#o.keys.prefix);
      this.#records.clear();
      this.#summaries.clear();
      this.#slots.clear();
      this.#remote.clear();
      this.#published.clear();
      this.#apply(
        values.map((v) => ({ kind: "put", key: v.key, value: v.value, modRevision: v.modRevision })),
        false,
      );
      watch = await this.#o.store.watch(
        this.#o.keys.prefix,
        revision + 1,
        (events) => {
          if (generation === this.#generation) this.#apply(events, true);
        },
        (err) =>
          this.#o.events?.onBackgroundError?.("watch", "the etcd watch broke: it resumes from its last revision", err),
        // A watch etcd cancelled (its revision compacted away) cannot resume: read everything afresh.
        (err) => {
          if (generation === this.#generation) this.#lose("the etcd watch was cancelled by etcd", err);
        },
      );
    } catch (err) {
      await watch?.cancel().catch(() => undefined);
      void lease?.revoke().catch(() => undefined);
      // Said once per spell: the attempts go on every check while etcd stays away.
      if (!this.#toldUnreachable) this.#o.events?.onUnavailable?.("etcd does not answer", err);
      this.#toldUnreachable = true;
      return;
    }
    if (this.#closed) return;
    this.#lease = lease;
    this.#watch = watch;
    this.#lastOk = this.#o.clock.now();
    this.#unavailable = undefined;
    this.#toldUnreachable = false;
    this.#o.events?.onAvailable?.();
    for (const listener of this.#availabilityListeners) listener(undefined);
    for (const name of this.#wanted) if (!this.#records.has(name)) this.#decideSoon(name, "create");
  }

  #lose(why: string, err: unknown): void {
    if (this.#unavailable !== undefined || this.#closed) return;
    this.#generation++;
    this.#unavailable = why;
    const watch = this.#watch;
    const lease = this.#lease;
    this.#watch = undefined;
    this.#lease = undefined;
    void watch?.cancel().catch(() => undefined);
    void lease?.revoke().catch(() => undefined);
    // Sessions end now; what they reported no longer speaks for anyone.
    this.#local.clear();
    this.#dirty.clear();
    this.#toldUnreachable = true;
    this.#o.events?.onUnavailable?.(why, err);
    for (const listener of this.#availabilityListeners) listener(why);
  }

  // Applies changes read or watched; from the watch, committed transitions go to listeners in version order.
  #apply(events: readonly StoreEvent[], push: boolean): void {
    for (const e of events) {
      const key = this.#o.keys.parse(e.key);
      if (key === undefined) continue;
      switch (key.kind) {
        case "breaker": {
          if (e.kind === "delete") {
            this.#records.delete(key.name);
            continue;
          }
          let record: BreakerRecord;
          try {
            record = decodeBreakerRecord(e.value);
          } catch (err) {
            this.#o.events?.onBackgroundError?.("record", `the etcd record of ${key.name} does not read: skipped`, err);
            continue;
          }
          this.#records.set(key.name, { record, modRevision: e.modRevision });
          const pushed = push ? (this.#pushed.get(key.name) ?? 0) : record.machine.version;
          for (const t of [...record.transitions].sort((a, b) => a.version - b.version)) {
            // Duplicates are skipped, never reordered.
            if (t.version <= pushed) continue;
            for (const listener of this.#transitionListeners) listener(t);
          }
          this.#pushed.set(key.name, Math.max(pushed, record.machine.version));
          continue;
        }
        case "window": {
          if (key.replica === this.#o.replicaId) continue;
          const byReplica = this.#summaries.get(key.name) ?? this.#summaries.set(key.name, new Map()).get(key.name)!;
          if (e.kind === "delete") byReplica.delete(key.replica);
          else byReplica.set(key.replica, JSON.parse(e.value) as FleetWindowJSON);
          // Another replica's outcomes may be what tips the fleet window.
          if (push && e.kind === "put") this.#evaluateLater(key.name);
          continue;
        }
        case "probe": {
          const bySlot = this.#slots.get(key.name) ?? this.#slots.set(key.name, new Map()).get(key.name)!;
          if (e.kind === "delete") bySlot.delete(key.slot);
          else bySlot.set(key.slot, { slot: decodeProbeSlot(e.value), modRevision: e.modRevision });
          continue;
        }
        case "instance": {
          if (key.replica === this.#o.replicaId) continue;
          const id = `${key.id}\u0000${key.replica}`;
          const published = e.kind === "put" ? decodePublishedInstance(e.value) : undefined;
          if (published === undefined) this.#remote.delete(id);
          else this.#remote.set(id, published);
          continue;
        }
      }
    }
  }
}

/**
 * A background decision: applies what time made due (the restore does) and opens the breaker if the summed
 * window trips with a quorum (a report of no calls makes the machine look at its window).
 */
function evaluate(m: BreakerMachine, now: number): void {
  m.record("", { successes: 0, failures: 0 }, now);
}

/** The parts of a machine a decision may move; outcomes and permits are kept elsewhere. */
function stateOf(m: BreakerMachineJSON): string {
  return JSON.stringify([m.version, m.since, m.reason, m.override, m.auto, m.reopens]);
}

function permitOf(slot: ProbeSlot): ProbePermit {
  return { granted: true, id: slot.permitId, holder: slot.holder, expiresAt: slot.expiresAt };
}

function guardOf(key: string, held: HeldSlot | undefined): StoreGuard {
  return held === undefined ? { key, absent: true } : { key, modRevision: held.modRevision };
}

/** The registry's instances as published: liveness judged by this replica. */
export function localInstancesOf(
  records: readonly InstanceRecord[],
  isLive: (r: InstanceRecord) => boolean,
): RemoteInstance[] {
  return records.map((record) => ({ record, live: isLive(record) }));
}
