/**
 * Which cache-store replica owns a key: rendezvous (highest random weight)
 * hashing of `bucket/key` over the live members, as groupcache and Varnish's
 * shard director do. Every member weighs the key with a hash seeded by its
 * own name; the heaviest owns it and the next ones are its fallbacks, in
 * order. Adding or removing one of N members moves only the keys it wins or
 * held (about 1/N), and every process that knows the same member names agrees
 * on every key's owner without talking to the others.
 */

/** A key's owner and fallbacks among a fixed set of members. */
export interface OwnerOrder {
  /** The member names, deduplicated, in the order given. */
  readonly members: readonly string[];
  /** The owner of `bucket/key`: the first of `order`. Throws when there is no member. */
  owner(bucket: string, key: string): string;
  /** Every member, the key's owner first, then its fallbacks by falling weight. */
  order(bucket: string, key: string): string[];
}

/**
 * Builds the ownership of keys over `members` (names every process spells the
 * same, such as a replica's advertised `host:port`).
 */
export function createOwnerOrder(members: readonly string[]): OwnerOrder {
  const names = [...new Set(members)];
  const seeds = names.map((name) => murmur3(name, 0x9747b28c));
  const weights = (bucket: string, key: string): number[] => {
    const id = `${bucket}/${key}`;
    return seeds.map((seed) => murmur3(id, seed));
  };
  // Equal weights (one in 2^32) fall back to the names, so the order is total.
  const heavier = (w: number[], a: number, b: number): boolean =>
    w[a]! > w[b]! || (w[a] === w[b] && names[a]! < names[b]!);
  return {
    members: names,
    owner(bucket, key) {
      if (names.length === 0) throw new RangeError("createOwnerOrder: no members to own a key");
      const w = weights(bucket, key);
      let best = 0;
      for (let i = 1; i < names.length; i++) if (heavier(w, i, best)) best = i;
      return names[best]!;
    },
    order(bucket, key) {
      const w = weights(bucket, key);
      return names
        .map((_, i) => i)
        .sort((a, b) => (heavier(w, a, b) ? -1 : heavier(w, b, a) ? 1 : 0))
        .map((i) => names[i]!);
    },
  };
}

/**
 * MurmurHash3 (x86, 32-bit) over a string's UTF-16 code units, two bytes
 * each: well mixed, allocation-free, and the same in every process.
 */
function murmur3(text: string, seed: number): number {
  let h = seed >>> 0;
  const n = text.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    h = mixBlock(h, (text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16)) >>> 0);
  }
  if (i < n) h ^= scramble(text.charCodeAt(i));
  h ^= n * 2;
  return finalMix(h);
}

function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

function mixBlock(h: number, k: number): number {
  h ^= scramble(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalMix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
