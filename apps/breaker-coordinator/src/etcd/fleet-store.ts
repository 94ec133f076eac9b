/**
 * The little of etcd the coordinator replicas use, behind breakwater's own
 * interface (KV range/txn with revision compares, leases, a watch from a
 * revision), so the client library under it can be swapped.
 */

/** One key as stored, with the revisions compares are made on. */
export interface StoredValue {
  readonly key: string;
  readonly value: string;
  /** Revision of the key's last change (compare on it to write only over what was read). */
  readonly modRevision: number;
  /** Revision the key was created at; 0 means absent in a compare. */
  readonly createRevision: number;
}

/** A condition of a transaction: the key still as read (`modRevision`), or still absent. */
export type StoreGuard =
  { readonly key: string; readonly modRevision: number } | { readonly key: string; readonly absent: true };

/** A write of a transaction. */
export type StoreWrite =
  | { readonly put: string; readonly value: string; readonly lease?: string | undefined }
  | { readonly delete: string }
  | { readonly deletePrefix: string };

/** One change seen by a watch. */
export interface StoreEvent {
  readonly kind: "put" | "delete";
  readonly key: string;
  /** The new value (empty for a delete). */
  readonly value: string;
  readonly modRevision: number;
}

/** A lease kept alive until revoked; `onLost` hears when it could not be. */
export interface KeptLease {
  readonly id: string;
  revoke(): Promise<void>;
}

/** A running watch. */
export interface StoreWatch {
  cancel(): Promise<void>;
}

/** The operations a replica needs; every unary call has a deadline (design.md: ~500 ms). */
export interface FleetStore {
  /** Every key under `prefix`, and the store's revision the read was made at. */
  range(prefix: string): Promise<{ values: StoredValue[]; revision: number }>;
  /** Applies `writes` if every guard holds; answers whether it did. */
  commit(guards: readonly StoreGuard[], writes: readonly StoreWrite[]): Promise<boolean>;
  /** A lease of `ttlSeconds` without keepalive: it lapses by itself (probe permits). */
  grantLease(ttlSeconds: number): Promise<string>;
  /** A lease kept alive in the background; `onLost` when a keepalive fails past its ttl. */
  keepLease(ttlSeconds: number, onLost: (err: unknown) => void): Promise<KeptLease>;
  /**
   * Watches `prefix` from `fromRevision` on, in revision order; the watch resumes from its last revision after a
   * broken stream. `onBroken` hears of a break (the watch goes on trying); `onEnded` of a watch etcd cancelled
   * (e.g. its revision was compacted away), which does not resume.
   */
  watch(
    prefix: string,
    fromRevision: number,
    onEvents: (events: readonly StoreEvent[]) => void,
    onBroken: (err: unknown) => void,
    onEnded: (err: unknown) => void,
  ): Promise<StoreWatch>;
  close(): void;
}

/** The key right after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key
}
