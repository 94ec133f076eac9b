/** One process with (or recently with) a session. */
export interface InstanceRecord {
  readonly instanceId: string;
  service: string;
  address: string;
  breakers: string[];
  connectedAt: number;
  lastSeen: number;
  successes: number;
  failures: number;
  /** Breakers this instance holds open for itself (no quorum for the fleet). */
  readonly locallyOpen: Set<string>;
  /** False once its session ended; kept (as stale) until dropped. */
  connected: boolean;
}

/** Liveness rules: stale after `staleAfter` silent heartbeats, dropped after `dropAfter`. */
export interface InstanceRegistryOptions {
  readonly heartbeatMs: number;
  /** Default 3 (design.md). */
  readonly staleAfter?: number;
  /** Default 20. */
  readonly dropAfter?: number;
}

/**
 * The instances the coordinator has heard from, with per-instance outcome
 * totals and liveness. Pure: time is passed in.
 */
export class InstanceRegistry {
  readonly #instances = new Map<string, InstanceRecord>();
  readonly #staleMs: number;
  readonly #dropMs: number;

  constructor(options: InstanceRegistryOptions) {
    if (!(options.heartbeatMs > 0)) throw new RangeError(`heartbeatMs must be > 0, got ${options.heartbeatMs}`);
    this.#staleMs = options.heartbeatMs * (options.staleAfter ?? 3);
    this.#dropMs = options.heartbeatMs * (options.dropAfter ?? 20);
  }

  /** Registers (or re-registers, after a reconnect) an instance. */
  hello(
    hello: { instanceId: string; service: string; address: string; breakers: readonly string[] },
    now: number,
  ): InstanceRecord {
    const existing = this.#instances.get(hello.instanceId);
    const record: InstanceRecord = existing ?? {
      instanceId: hello.instanceId,
      service: hello.service,
      address: hello.address,
      breakers: [],
      connectedAt: now,
      lastSeen: now,
      successes: 0,
      failures: 0,
      locallyOpen: new Set(),
      connected: true,
    };
    record.service = hello.service;
    record.address = hello.address;
    record.breakers = [...hello.breakers];
    record.connected = true;
    record.lastSeen = now;
    if (existing === undefined) this.#instances.set(hello.instanceId, record);
    else {
      // A new session: its totals count from here (ListInstances: "since the session began").
      record.connectedAt = now;
      record.successes = 0;
      record.failures = 0;
    }
    return record;
  }

  /** Records a report (an empty one is a heartbeat). */
  report(
    instanceId: string,
    counts: readonly { breaker: string; successes: number; failures: number; locallyOpen: boolean }[],
    now: number,
  ): void {
    const r = this.#instances.get(instanceId);
    if (r === undefined) return;
    r.lastSeen = now;
    for (const c of counts) {
      r.successes += c.successes;
      r.failures += c.failures;
      if (c.locallyOpen) r.locallyOpen.add(c.breaker);
      else r.locallyOpen.delete(c.breaker);
      if (!r.breakers.includes(c.breaker)) r.breakers.push(c.breaker);
    }
  }

  disconnected(instanceId: string): void {
    const r = this.#instances.get(instanceId);
    if (r) r.connected = false;
  }

  get(instanceId: string): InstanceRecord | undefined {
    return this.#instances.get(instanceId);
  }

  /** Live: connected and heard from within `staleAfter` heartbeats. */
  isLive(r: InstanceRecord, now: number): boolean {
    return r.connected && now - r.lastSeen < this.#staleMs;
  }

  /** Drops instances silent past `dropAfter` heartbeats; answers their ids. */
  sweep(now: number): string[] {
    const dropped: string[] = [];
    for (const [id, r] of this.#instances) {
      if (now - r.lastSeen >= this.#dropMs) {
        this.#instances.delete(id);
        dropped.push(id);
      }
    }
    return dropped;
  }

  list(): InstanceRecord[] {
    return [...this.#instances.values()];
  }

  /** Live instances that use a breaker (for quorum's "reporting instances"). */
  liveUsers(breaker: string, now: number): string[] {
    return this.list()
      .filter((r) => this.isLive(r, now) && r.breakers.includes(breaker))
      .map((r) => r.instanceId);
  }
}
