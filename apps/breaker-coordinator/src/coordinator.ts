import type { BreakerTransition, Clock, ForceMode } from "@breakwater/breaker";
import { FleetUnavailableError, type FleetState } from "./fleet-state.js";
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

/** How the coordinator reaches one session: its messages, and cutting it off. */
interface SessionEnds {
  readonly send: (out: SessionOutput) => void;
  readonly end: (err: Error) => void;
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
  readonly #sessions = new Map<SessionLink, SessionEnds>();
  readonly #watchers = new Set<(t: BreakerTransition) => void>();
  /** Starts at the clock, so a restarted coordinator's versions stay above the ones it sent before. */
  #members: MemberList;

  constructor(
    readonly fleet: FleetState,
    private readonly clock: Clock,
    readonly heartbeatMs: number,
    private readonly events: CoordinatorEvents = {},
  ) {
    this.registry = new InstanceRegistry({ heartbeatMs });
    this.#members = { version: clock.now(), members: [] };
    fleet.onTransition((t) => {
      // Every session hears every transition as it happens (sessions decide per request from their copy).
      for (const { send } of this.#sessions.values()) send({ kind: "transition", transition: t });
      for (const w of this.#watchers) w(t);
      events.onTransition?.(t);
    });
    fleet.onAvailability((why) => {
      if (why === undefined) return;
      // Without the fleet's state this replica must not speak for it: its instances fall back to local breakers.
      const err = new FleetUnavailableError(why);
      for (const { end } of [...this.#sessions.values()]) end(err);
    });
  }

  /**
   * Opens a session: registers the instance and its breakers; answers the link and the snapshot (views, members).
   * `end` cuts the session off (the fleet state became unavailable). Throws FleetUnavailableError meanwhile.
   */
  attach(
    hello: { instanceId: string; service: string; address: string; breakers: readonly string[] },
    send: (out: SessionOutput) => void,
    end: (err: Error) => void = () => undefined,
  ) {
    this.#available();
    const now = this.clock.now();
    const instance = this.registry.hello(hello, now);
    this.fleet.ensure(hello.breakers, now);
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
    this.#sessions.set(link, { send, end });
    return { link, views: this.fleet.views(now), members: this.#members };
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
          this.fleet.record(instance.instanceId, c.breaker, c, now);
        }
        this.events.onReport?.(instance.instanceId, input.counts.length);
        return;
      }
      case "probe-request": {
        this.registry.report(instance.instanceId, [], now);
        void this.fleet.acquireProbe(input.breaker, instance.instanceId, now).then(
          (answer) => {
            this.events.onProbe?.(input.breaker, answer.granted);
            send(
              answer.granted
                ? { kind: "probe-grant", breaker: input.breaker, permitId: answer.id, expiresAt: answer.expiresAt }
                : { kind: "probe-refusal", breaker: input.breaker, retryAfterMs: answer.retryAfterMs },
            );
          },
          // The fleet state could not be reached in time: refused, ask again (the session ends if it stays away).
          () => send({ kind: "probe-refusal", breaker: input.breaker, retryAfterMs: undefined }),
        );
        return;
      }
      case "probe-result": {
        this.registry.report(instance.instanceId, [], now);
        this.fleet.completeProbe(input.breaker, input.permitId, input.success, now);
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
    this.fleet.tick(now);
    for (const id of this.registry.sweep(now)) this.fleet.forgetInstance(id);
    this.#refreshMembers(now);
  }

  /** The live cache-store members as sessions were last told. */
  get members(): MemberList {
    return this.#members;
  }

  /** Recomputes the members; on a change, bumps the version and tells every session. */
  #refreshMembers(now: number): void {
    const members = membersOf(this.#fleetInstances(now), (r) => r.connected);
    if (sameMembers(members, this.#members.members)) return;
    this.#members = { version: Math.max(this.#members.version + 1, now), members };
    for (const { send } of this.#sessions.values()) send({ kind: "members", members: this.#members });
    this.events.onMembersChange?.(this.#members);
  }

  describe(name: string) {
    this.#available();
    return this.fleet.describe(name, this.clock.now());
  }

  list() {
    this.#available();
    return this.fleet.list(this.clock.now());
  }

  /** Applies an operator's force (`by`: who, the caller's token name); answers once it is durable. */
  async force(name: string, mode: ForceMode, reason: string, ttlMs: number | undefined, by?: string) {
    this.#available();
    return this.fleet.force(name, mode, reason, ttlMs, this.clock.now(), by);
  }

  /** Closes a breaker and clears its window and backoff; answers once it is durable. */
  async reset(name: string) {
    this.#available();
    return this.fleet.reset(name, this.clock.now());
  }

  /** Instances with liveness and the breakers each holds open for itself: this replica's and the others'. */
  instances() {
    this.#available();
    const now = this.clock.now();
    const locallyOpenBy = new Map<string, Set<string>>();
    for (const d of this.fleet.list(now)) {
      for (const id of d.locallyOpenInstances) {
        (locallyOpenBy.get(id) ?? locallyOpenBy.set(id, new Set()).get(id)!).add(d.name);
      }
    }
    return this.#fleetInstances(now).map((r) => ({
      record: r,
      live: r.connected,
      locallyOpen: [...new Set([...r.locallyOpen, ...(locallyOpenBy.get(r.instanceId) ?? [])])].sort(),
    }));
  }

  /**
   * This replica's instances and those other replicas published, one record per instance id (a live one
   * before a stale one, then the one connected most recently), with `connected` meaning live at `now`.
   */
  #fleetInstances(now: number): InstanceRecord[] {
    const byId = new Map<string, InstanceRecord>();
    const offer = (r: InstanceRecord): void => {
      const held = byId.get(r.instanceId);
      const better =
        held === undefined || (r.connected !== held.connected ? r.connected : r.connectedAt > held.connectedAt);
      if (better) byId.set(r.instanceId, r);
    };
    for (const r of this.registry.list()) offer({ ...r, connected: this.registry.isLive(r, now) });
    for (const { record, live } of this.fleet.remoteInstances()) offer({ ...record, connected: live });
    return [...byId.values()];
  }

  #available(): void {
    const why = this.fleet.unavailable;
    if (why !== undefined) throw new FleetUnavailableError(why);
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }
}
