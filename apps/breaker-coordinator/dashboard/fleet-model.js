// @ts-check
/**
 * What the page knows of the fleet: breakers by name, instances, the recent
 * transitions and the link's state. Each view subscribes to its part and
 * redraws only when that part changes (a redraw under the pointer eats clicks).
 */

/** @typedef {"breakers" | "instances" | "timeline" | "link"} Part */

/** How many transitions the timeline keeps. */
const timelineLength = 50;

export class FleetModel {
  /** @type {Map<string, any>} protobuf JSON `Breaker` by name */
  breakers = new Map();
  /** @type {any[]} protobuf JSON `Instance` */
  instances = [];
  /** @type {any[]} protobuf JSON `BreakerTransition`, newest first */
  timeline = [];
  /** @type {{ connected: boolean, message: string }} */
  link = { connected: false, message: "connecting…" };
  /** @type {Map<Part, Set<() => void>>} */
  #listeners = new Map();

  /** @param {Part} part @param {() => void} listener */
  subscribe(part, listener) {
    const set = this.#listeners.get(part) ?? new Set();
    set.add(listener);
    this.#listeners.set(part, set);
  }

  /** @param {Part} part */
  changed(part) {
    for (const listener of this.#listeners.get(part) ?? []) listener();
  }

  /** A full ListBreakers answer replaces what was known. @param {any[]} breakers */
  setBreakers(breakers) {
    // A transition seen on the stream after this list was read is kept.
    const newer = (/** @type {any} */ b) => {
      const known = this.breakers.get(b.name);
      return known !== undefined && version(known) > version(b) ? known : b;
    };
    const next = new Map(breakers.map((b) => [b.name, newer(b)]));
    if (JSON.stringify([...next]) === JSON.stringify([...this.breakers])) return;
    this.breakers = next;
    this.changed("breakers");
  }

  /** One breaker read in full (GetBreaker, ForceBreaker, ResetBreaker); an older version is ignored. @param {any} b */
  putBreaker(b) {
    const known = this.breakers.get(b.name);
    if (known !== undefined && version(known) > version(b)) return;
    if (JSON.stringify(known) === JSON.stringify(b)) return;
    this.breakers.set(b.name, b);
    this.changed("breakers");
  }

  /**
   * A transition from WatchBreakers: the state shows at once; the caller
   * reads the breaker in full for the rest (window, override, instances).
   * @param {any} t
   */
  applyTransition(t) {
    this.timeline.unshift(t);
    this.timeline.length = Math.min(this.timeline.length, timelineLength);
    const view = t.breaker ?? {};
    const known = this.breakers.get(view.name);
    if (known === undefined || version(known) < version(view)) {
      this.breakers.set(view.name, {
        ...known,
        name: view.name,
        state: view.state,
        version: view.version,
        since: t.at,
        reason: t.reason,
        openUntil: view.openUntil,
      });
      this.changed("breakers");
    }
    this.changed("timeline");
  }

  /** @param {any[]} instances */
  setInstances(instances) {
    if (JSON.stringify(instances) === JSON.stringify(this.instances)) return;
    this.instances = instances;
    this.changed("instances");
  }

  /** @param {boolean} connected @param {string} message */
  setLink(connected, message) {
    this.link = { connected, message };
    this.changed("link");
  }
}

/** A uint64 arrives as a JSON string (protobuf JSON); absent means 0. @param {{ version?: string }} b */
function version(b) {
  return BigInt(b.version ?? "0");
}
