import type { FleetStore, KeptLease, StoreEvent, StoreGuard, StoreWatch, StoreWrite } from "../fleet-store.js";

interface Entry {
  value: string;
  modRevision: number;
  createRevision: number;
  lease: string | undefined;
}

/**
 * etcd's semantics as far as replicas use them (revisions, compares, leases, watches from a revision), in
 * memory, for unit tests of the replica logic; watch events arrive on a later microtask, as over a stream.
 */
export class MemoryFleetStore implements FleetStore {
  revision = 0;
  /** While true every call fails, as with etcd unreachable. */
  down = false;
  readonly #entries = new Map<string, Entry>();
  readonly #history: StoreEvent[] = [];
  readonly #watchers = new Set<{ prefix: string; onEvents: (e: readonly StoreEvent[]) => void }>();
  #leases = 0;

  async range(prefix: string) {
    this.#check();
    const values = [...this.#entries]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, e]) => ({ key, value: e.value, modRevision: e.modRevision, createRevision: e.createRevision }));
    return { values, revision: this.revision };
  }

  async commit(guards: readonly StoreGuard[], writes: readonly StoreWrite[]) {
    this.#check();
    for (const g of guards) {
      const held = this.#entries.get(g.key);
      if ("absent" in g ? held !== undefined : held?.modRevision !== g.modRevision) return false;
    }
    const revision = ++this.revision;
    const events: StoreEvent[] = [];
    for (const w of writes) {
      if ("put" in w) {
        const createRevision = this.#entries.get(w.put)?.createRevision ?? revision;
        this.#entries.set(w.put, { value: w.value, modRevision: revision, createRevision, lease: w.lease });
        events.push({ kind: "put", key: w.put, value: w.value, modRevision: revision });
      } else {
        const gone = "delete" in w ? [w.delete] : [...this.#entries.keys()].filter((k) => k.startsWith(w.deletePrefix));
        for (const key of gone)
          if (this.#entries.delete(key)) events.push({ kind: "delete", key, value: "", modRevision: revision });
      }
    }
    this.#emit(events);
    return true;
  }

  async grantLease() {
    this.#check();
    return String(++this.#leases);
  }

  async keepLease(): Promise<KeptLease> {
    const id = await this.grantLease();
    return { id, revoke: async () => this.expireLease(id) };
  }

  /** Deletes every key under the lease, as etcd does when it lapses. */
  expireLease(id: string): void {
    const revision = ++this.revision;
    const events: StoreEvent[] = [];
    for (const [key, e] of this.#entries) {
      if (e.lease !== id) continue;
      this.#entries.delete(key);
      events.push({ kind: "delete", key, value: "", modRevision: revision });
    }
    this.#emit(events);
  }

  async watch(prefix: string, fromRevision: number, onEvents: (e: readonly StoreEvent[]) => void): Promise<StoreWatch> {
    this.#check();
    const watcher = { prefix, onEvents };
    const missed = this.#history.filter((e) => e.modRevision >= fromRevision && e.key.startsWith(prefix));
    if (missed.length > 0) queueMicrotask(() => onEvents(missed));
    this.#watchers.add(watcher);
    return { cancel: async () => void this.#watchers.delete(watcher) };
  }

  close(): void {
    this.#watchers.clear();
  }

  #emit(events: StoreEvent[]): void {
    if (events.length === 0) return;
    this.#history.push(...events);
    for (const w of this.#watchers) {
      const mine = events.filter((e) => e.key.startsWith(w.prefix));
      if (mine.length > 0) queueMicrotask(() => w.onEvents(mine));
    }
  }

  #check(): void {
    if (this.down) throw new Error("14 UNAVAILABLE: etcd is down (test)");
  }
}
