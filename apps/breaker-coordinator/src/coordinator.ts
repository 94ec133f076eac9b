import { BreakerSet, describeBreaker, type BreakerTransition, type Clock, type ForceMode } from "@breakwater/breaker";
import { InstanceRegistry, type InstanceRecord } from "./instance-registry.js";
import { membersOf, sameMembers, type MemberList } from "./member-list.js";

/** What a session sends the coordinator after its hello. */
export type SessionInput =
  | {
      kind: "report";
      counts: readonly {
        breaker: string;
        successes: number;
        failures: number;
        slowCalls: number;
        locallyOpen: boolean;
      }[];
    }
  | { kind: "probe-request"; breaker: string }
  | { kind: "probe-result"; breaker: string; permitId: string; success: boolean };

/** What the coordinator sends one session. */
export type SessionOutput =
  | { kind: "transition"; transition: BreakerTransition }
  | { kind: "members"; members: MemberList }
  | { kind: "probe-grant"; breaker: string; permitId: string; expiresAt: number }
  | { kind: "probe-refusal"; breaker: string; retryAfterMs: number | undefined };

/** An operator's change is in effect but could not be saved: it may not survive a restart. */
export class StateNotSavedError extends Error {
  override readonly name = "StateNotSavedError";
  constructor(cause: unknown) {
    super("the change is in effect but the state file could not be saved", { cause });
  }
}

/** A connected session, as the coordinator sees it. */
export interface SessionLink {
  readonly instance: InstanceRecord;
  handle(input: SessionInput): void;
  /** The session ended (cleanly or not). */
  close(): void;
}

/** Events the app logs and counts. */
export interface CoordinatorEvents {
  onTransition?(t: BreakerTransition): void;
  onReport?(instanceId: string, breakers: number): void;
  onProbe?(breaker: string, granted: boolean): void;
  onMembersChange?(members: MemberList): void;
}

/**
 * The coordinator's domain: the fleet's breakers, the instances, and the
 * sessions that hear every transition. No gRPC here; the service adapts it.
 */
export class Coordinator {
  readonly registry: InstanceRegistry;
  readonly #sessions = new Map<SessionLink, (out: SessionOutput) => void>();
  readonly #watchers = new Set<(t: BreakerTransition) => void>();
  /** Starts at the clock, so a restarted coordinator's versions stay above the ones it sent before. */
  #members: MemberList;

  constructor(
    readonly breakers: BreakerSet,
    private readonly clock: Clock,
    readonly heartbeatMs: number,
    /** Saves the state; resolves once what was current at the call is on disk. */
    private readonly persist: () => Promise<void> = async () => undefined,
    private readonly events: CoordinatorEvents = {},
  ) {
    this.registry = new InstanceRegistry({ heartbeatMs });
    this.#members = { version: clock.now(), members: [] };
    breakers.onTransition((t) => {
      // Every session hears every transition as it happens (sessions decide per request from their copy).
      for (const send of this.#sessions.values()) send({ kind: "transition", transition: t });
      for (const w of this.#watchers) w(t);
      events.onTransition?.(t);
      // Saved in the background, coalesced; a failure is the persister's to report.
      void this.persist().catch(() => undefined);
    });
  }

  /** Opens a session: registers the instance and its breakers; answers the link and the snapshot (views, members). */
  attach(
    hello: { instanceId: string; service: string; address: string; breakers: readonly string[] },
    send: (out: SessionOutput) => void,
  ) {
    const now = this.clock.now();
    const instance = this.registry.hello(hello, now);
    for (const name of hello.breakers) this.breakers.ensure(name, now);
    const link: SessionLink = {
      instance,
      handle: (input) => this.#handle(instance, input, send),
      close: () => {
        this.#sessions.delete(link);
        // Another session of the same instance (a reconnect) keeps it connected.
        if (![...this.#sessions.keys()].some((l) => l.instance === instance))
          this.registry.disconnected(instance.instanceId);
        this.#refreshMembers(this.clock.now());
      },
    };
    // The others hear of a new member now; this session hears of it in its snapshot.
    this.#refreshMembers(now);
    this.#sessions.set(link, send);
    return { link, views: this.breakers.list().map((m) => m.view(now)), members: this.#members };
  }

  #handle(instance: InstanceRecord, input: SessionInput, send: (out: SessionOutput) => void): void {
    const now = this.clock.now();
    const wasLive = this.registry.isLive(instance, now);
    // Dropped for silence but its session is open: heard from again, it is listed again.
    if (this.registry.get(instance.instanceId) === undefined) this.registry.hello(instance, now);
    this.#handleInput(instance, input, send, now);
    // Stale (or dropped) and heard from again: a member again.
    if (!wasLive) this.#refreshMembers(now);
  }

  #handleInput(instance: InstanceRecord, input: SessionInput, send: (out: SessionOutput) => void, now: number): void {
    switch (input.kind) {
      case "report": {
        this.registry.report(instance.instanceId, input.counts, now);
        for (const c of input.counts) {
          if (c.successes === 0 && c.failures === 0) continue;
          this.breakers.ensure(c.breaker, now).record(instance.instanceId, c, now);
        }
        this.events.onReport?.(instance.instanceId, input.counts.length);
        return;
      }
      case "probe-request": {
        this.registry.report(instance.instanceId, [], now);
        const answer = this.breakers.ensure(input.breaker, now).acquireProbe(instance.instanceId, now);
        this.events.onProbe?.(input.breaker, answer.granted);
        send(
          answer.granted
            ? { kind: "probe-grant", breaker: input.breaker, permitId: answer.id, expiresAt: answer.expiresAt }
            : { kind: "probe-refusal", breaker: input.breaker, retryAfterMs: answer.retryAfterMs },
        );
        return;
      }
      case "probe-result": {
        this.registry.report(instance.instanceId, [], now);
        this.breakers.get(input.breaker)?.completeProbe(input.permitId, input.success, now);
        return;
      }
    }
  }

  /** Streams transitions (WatchBreakers); returns the unsubscribe. */
  watch(listener: (t: BreakerTransition) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /**
   * Applies time-driven changes (open → half-open, lapsed leases and overrides), drops long-silent instances,
   * and tells sessions of members gone stale.
   */
  tick(): void {
    const now = this.clock.now();
    this.breakers.tick(now);
    for (const id of this.registry.sweep(now)) for (const m of this.breakers.list()) m.forgetInstance(id);
    this.#refreshMembers(now);
  }

  /** The live cache-store members as sessions were last told. */
  get members(): MemberList {
    return this.#members;
  }

  /** Recomputes the members; on a change, bumps the version and tells every session. */
  #refreshMembers(now: number): void {
    const members = membersOf(this.registry.list(), (r) => this.registry.isLive(r, now));
    if (sameMembers(members, this.#members.members)) return;
    this.#members = { version: Math.max(this.#members.version + 1, now), members };
    for (const send of this.#sessions.values()) send({ kind: "members", members: this.#members });
    this.events.onMembersChange?.(this.#members);
  }

  describe(name: string) {
    const m = this.breakers.get(name);
    return m === undefined ? undefined : describeBreaker(m, this.clock.now());
  }

  list() {
    const now = this.clock.now();
    return this.breakers.list().map((m) => describeBreaker(m, now));
  }

  /** Applies an operator's force; answers once it is on disk, so an acknowledged force survives a crash. */
  async force(name: string, mode: ForceMode, reason: string, ttlMs: number | undefined) {
    const now = this.clock.now();
    const m = this.breakers.ensure(name, now);
    m.force(mode, { reason: reason || undefined, ttlMs }, now);
    await this.#saved();
    return describeBreaker(m, this.clock.now());
  }

  /** Closes a breaker and clears its window and backoff; answers once it is on disk. */
  async reset(name: string) {
    const m = this.breakers.get(name);
    if (m === undefined) return undefined;
    m.reset(this.clock.now());
    await this.#saved();
    return describeBreaker(m, this.clock.now());
  }

  #saved(): Promise<void> {
    return this.persist().catch((err: unknown) => {
      throw new StateNotSavedError(err);
    });
  }

  /** Instances with liveness and the breakers each holds open for itself. */
  instances() {
    const now = this.clock.now();
    const locallyOpenBy = new Map<string, Set<string>>();
    for (const m of this.breakers.list()) {
      for (const id of describeBreaker(m, now).locallyOpenInstances) {
        (locallyOpenBy.get(id) ?? locallyOpenBy.set(id, new Set()).get(id)!).add(m.name);
      }
    }
    return this.registry.list().map((r) => ({
      record: r,
      live: this.registry.isLive(r, now),
      locallyOpen: [...new Set([...r.locallyOpen, ...(locallyOpenBy.get(r.instanceId) ?? [])])].sort(),
    }));
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }
}
