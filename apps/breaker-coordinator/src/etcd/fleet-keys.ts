/**
 * Where the fleet's state lives under the configured prefix. Names are
 * URI-encoded so that a breaker name with `/` (every URL) stays one path
 * segment and prefix reads never catch another breaker's keys.
 */
export interface FleetKeys {
  readonly prefix: string;
  /** `<prefix>breakers/<breaker>`: the breaker's record (state, version, override, ...). */
  breaker(name: string): string;
  readonly breakers: string;
  /** `<prefix>windows/<breaker>/`: one window summary per replica, under the replica's lease. */
  windows(name: string): string;
  window(name: string, replica: string): string;
  /** `<prefix>probes/<breaker>/`: one key per probe permit slot, under a lease that lapses with the permit. */
  probes(name: string): string;
  probe(name: string, slot: number): string;
  /**
   * `<prefix>instances/<id>/<replica>`: an instance's record as one replica holds it, under that replica's lease
   * (an instance that moved has one per replica until the old one forgets it).
   */
  instance(id: string, replica: string): string;
  readonly instances: string;
  /** What a key under the prefix is about. */
  parse(key: string): ParsedKey | undefined;
}

/** A key read back. */
export type ParsedKey =
  | { readonly kind: "breaker"; readonly name: string }
  | { readonly kind: "window"; readonly name: string; readonly replica: string }
  | { readonly kind: "probe"; readonly name: string; readonly slot: number }
  | { readonly kind: "instance"; readonly id: string; readonly replica: string };

/** The key layout under `prefix` (ends with `/`). */
export function fleetKeys(prefix: string): FleetKeys {
  const p = prefix.endsWith("/") ? prefix : `${prefix}/`;
  const enc = encodeURIComponent;
  return {
    prefix: p,
    breakers: `${p}breakers/`,
    breaker: (name) => `${p}breakers/${enc(name)}`,
    windows: (name) => `${p}windows/${enc(name)}/`,
    window: (name, replica) => `${p}windows/${enc(name)}/${enc(replica)}`,
    probes: (name) => `${p}probes/${enc(name)}/`,
    probe: (name, slot) => `${p}probes/${enc(name)}/${slot}`,
    instances: `${p}instances/`,
    instance: (id, replica) => `${p}instances/${enc(id)}/${enc(replica)}`,
    parse(key) {
      if (!key.startsWith(p)) return undefined;
      const parts = key.slice(p.length).split("/").map(decodeURIComponent);
      const [kind, a, b] = parts;
      if (kind === "breakers" && parts.length === 2) return { kind: "breaker", name: a! };
      if (kind === "windows" && parts.length === 3) return { kind: "window", name: a!, replica: b! };
      if (kind === "probes" && parts.length === 3) return { kind: "probe", name: a!, slot: Number(b) };
      if (kind === "instances" && parts.length === 3) return { kind: "instance", id: a!, replica: b! };
      return undefined;
    },
  };
}
