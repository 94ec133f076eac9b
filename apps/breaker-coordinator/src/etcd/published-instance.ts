import type { InstanceRecord } from "../instance-registry.js";
import type { RemoteInstance } from "../fleet-state.js";

/** An instance's record as its replica publishes it (`<prefix>instances/<id>`). */
interface PublishedInstanceJSON {
  readonly replica: string;
  readonly live: boolean;
  readonly instanceId: string;
  readonly service: string;
  readonly address: string;
  readonly breakers: readonly string[];
  readonly connectedAt: number;
  readonly lastSeen: number;
  readonly successes: number;
  readonly failures: number;
  readonly locallyOpen: readonly string[];
}

/** The value published for a local instance. */
export function encodePublishedInstance(replica: string, r: InstanceRecord, live: boolean): string {
  const json: PublishedInstanceJSON = {
    replica,
    live,
    instanceId: r.instanceId,
    service: r.service,
    address: r.address,
    breakers: r.breakers,
    connectedAt: r.connectedAt,
    lastSeen: r.lastSeen,
    successes: r.successes,
    failures: r.failures,
    locallyOpen: [...r.locallyOpen].sort(),
  };
  return JSON.stringify(json);
}

/** Reads a published instance; undefined for one that does not parse (left out of listings). */
export function decodePublishedInstance(text: string): (RemoteInstance & { replica: string }) | undefined {
  try {
    const o = JSON.parse(text) as PublishedInstanceJSON;
    if (typeof o.instanceId !== "string" || typeof o.replica !== "string") return undefined;
    return {
      replica: o.replica,
      live: o.live === true,
      record: {
        instanceId: o.instanceId,
        service: String(o.service),
        address: String(o.address),
        breakers: [...(o.breakers ?? [])],
        connectedAt: Number(o.connectedAt),
        lastSeen: Number(o.lastSeen),
        successes: Number(o.successes),
        failures: Number(o.failures),
        locallyOpen: new Set(o.locallyOpen ?? []),
        connected: o.live === true,
      },
    };
  } catch {
    return undefined;
  }
}
