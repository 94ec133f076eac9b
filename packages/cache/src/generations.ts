/**
 * Write fences for loads: a load that began before a write (or purge) of its
 * key was acknowledged must not store what it read, because that may be the
 * old body. Each write bumps the key's generation; a load remembers the
 * generation it began at and stores only if nothing newer touched its key.
 *
 * Generations are one growing counter, recorded per key and per purged prefix
 * only while some load that began earlier is still running, so the records
 * stay bounded by the writes that overlap loads.
 */

/** A load's note of when it began. */
export interface LoadTicket {
  readonly generation: number;
}

/** Per-key generation counters with prefix bumps. */
export interface Generations {
  /** Call when a load begins; pair with {@link Generations.end}. */
  begin(): LoadTicket;
  end(ticket: LoadTicket): void;
  /** A write or invalidation of one key was acknowledged. */
  bump(bucket: string, key: string): void;
  /** Every key under `prefix` was invalidated. */
  bumpPrefix(bucket: string, prefix: string): void;
  /** True when no write touched the key since the ticket's load began. */
  isCurrent(ticket: LoadTicket, bucket: string, key: string): boolean;
}

/** Records kept before pruning what no running load can need. */
const PRUNE_FLOOR = 1024;

/** Creates {@link Generations}. */
export function createGenerations(): Generations {
  let generation = 0;
  const keyBumps = new Map<string, number>();
  let prefixBumps: { readonly prefix: string; readonly generation: number }[] = [];
  // Running loads per starting generation. Generations only grow, so the
  // first key in insertion order is the oldest running load.
  const running = new Map<number, number>();
  let pruneAt = PRUNE_FLOOR;

  function prune(): void {
    const oldest = running.keys().next().value;
    if (oldest === undefined) {
      keyBumps.clear();
      prefixBumps = [];
      return;
    }
    const size = keyBumps.size + prefixBumps.length;
    if (size < pruneAt) return;
    // A record at or below the oldest running load's generation cannot make
    // any running load stale.
    for (const [k, g] of keyBumps) if (g <= oldest) keyBumps.delete(k);
    prefixBumps = prefixBumps.filter((p) => p.generation > oldest);
    pruneAt = Math.max(PRUNE_FLOOR, 2 * (keyBumps.size + prefixBumps.length));
  }

  return {
    begin() {
      running.set(generation, (running.get(generation) ?? 0) + 1);
      return { generation };
    },
    end(ticket) {
      const n = running.get(ticket.generation);
      if (n === undefined) return;
      if (n > 1) running.set(ticket.generation, n - 1);
      else running.delete(ticket.generation);
      prune();
    },
    bump(bucket, key) {
      if (running.size === 0) return; // no load to fence
      keyBumps.set(fenceKey(bucket, key), ++generation);
    },
    bumpPrefix(bucket, prefix) {
      if (running.size === 0) return;
      prefixBumps.push({ prefix: fenceKey(bucket, prefix), generation: ++generation });
    },
    isCurrent(ticket, bucket, key) {
      const k = fenceKey(bucket, key);
      if ((keyBumps.get(k) ?? 0) > ticket.generation) return false;
      return !prefixBumps.some((p) => p.generation > ticket.generation && k.startsWith(p.prefix));
    },
  };
}

function fenceKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}
