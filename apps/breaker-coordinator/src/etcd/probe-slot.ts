/** A probe permit held in a slot key (`<prefix>probes/<breaker>/<slot>`): at most half_open_max_probes slots. */
export interface ProbeSlot {
  readonly permitId: string;
  readonly holder: string;
  readonly expiresAt: number;
  /** The breaker's version when it was granted: a permit of an earlier half-open spell is void. */
  readonly version: number;
}

/** Reads a slot's value; undefined for one that does not parse (treated as free). */
export function decodeProbeSlot(text: string): ProbeSlot | undefined {
  try {
    const o = JSON.parse(text) as Partial<ProbeSlot>;
    if (typeof o.permitId !== "string" || typeof o.holder !== "string") return undefined;
    if (typeof o.expiresAt !== "number" || typeof o.version !== "number") return undefined;
    return { permitId: o.permitId, holder: o.holder, expiresAt: o.expiresAt, version: o.version };
  } catch {
    return undefined;
  }
}

/** True while the slot holds a permit of the breaker's current spell that has not lapsed. */
export function slotHolds(slot: ProbeSlot | undefined, version: number, now: number): slot is ProbeSlot {
  return slot !== undefined && slot.version === version && slot.expiresAt > now;
}
