/**
 * The coordinated breaker client of one process (design.md
 * "BreakerCoordinator"): one Session to the coordinator, a CoordinatedBreaker
 * per backend the process calls, outcome reports batched on their way out.
 * Requests never wait on the coordinator: cut off, the process detaches and
 * its local breakers decide alone until the session is back.
 */
import {
  type BreakerConfig,
  type BreakerConfigSet,
  type BreakerView,
  type Clock,
  type Random,
  systemClock,
} from "../index.js";
import type { BreakerClientEvent, BreakerEventListener } from "./breaker-events.js";
import { CoarseClock } from "./coarse-clock.js";
import { CoordinatedBreaker } from "./coordinated-breaker.js";
import { OutcomeBatcher } from "./outcome-batcher.js";
import { CoordinatorLink } from "./coordinator-link.js";
import type { FleetMember, FleetMembers, SessionTransport } from "./session-messages.js";
import { type SessionTimers, systemTimers } from "./timers.js";

/** What a breaker client is built from. */
export interface BreakerClientOptions {
  /** Unique per process, e.g. `cache-store-<hostname>-<pid>`. */
  readonly instanceId: string;
  /** The service this process is ("cache-store", "gateway"), for operators. */
  readonly service: string;
  /** Where this process serves, for operators. */
  readonly address: string;
  /** The breakers this process uses, by name (`s3:<endpoint>`, `cache-store:<address>`). */
  readonly breakers: readonly string[];
  /** Each breaker's config: BREAKER_CONFIG read with parseBreakerConfigFile, or a function of the name. */
  readonly config: BreakerConfigSet | ((name: string) => BreakerConfig);
  /** Time source (default: the wall clock). Open-until times are absolute, as the coordinator's. */
  readonly clock?: Clock | undefined;
  /** Jitter source in [0, 1) (default Math.random). */
  readonly random?: Random | undefined;
  /** Timers for reports, heartbeats, reconnects (default: Node's, unreferenced). */
  readonly timers?: SessionTimers | undefined;
  /** Receives attached / disconnected / detached / transition / probe events, for logs and metrics. */
  readonly onEvent?: BreakerEventListener | undefined;
  /** Without a session this long, fall back to local breakers (default: the breakers' smallest detach_after). */
  readonly detachAfterMs?: number | undefined;
  /**
   * Cap of the reconnect backoff (default 5 s), which starts once every coordinator replica has failed;
   * the first delay is 100 ms, doubling, with jitter.
   */
  readonly reconnectMaxMs?: number | undefined;
  /** Reports go out at most this often (default 100 ms), failure bursts at once. */
  readonly reportIntervalMs?: number | undefined;
  /** How old the time outcomes are recorded at may get, to spare a clock read per call (default 10 ms; 0: exact). */
  readonly recordClockResolutionMs?: number | undefined;
  /** Wait before asking again after a refused probe, ± half (default 500 ms). */
  readonly probeRetryMs?: number | undefined;
  /**
   * The Session stream to the coordinator: a transport, or a function of the
   * session's timing that makes one (gRPC: keepalive pings from detach_after).
   */
  readonly transport: SessionTransport | ((timing: SessionTiming) => SessionTransport);
}

/** The session timing a transport may tune its channel to. */
export interface SessionTiming {
  /** Without a session this long, the client detaches. */
  readonly detachAfterMs: number;
  /** Cap of the client's reconnect backoff. */
  readonly reconnectMaxMs: number;
}

/** The breakers of one process and its session with the coordinator. */
export interface BreakerClient {
  /** The handle of a breaker named in the options or added since; a RangeError for any other name. */
  breaker(name: string): CoordinatedBreaker;
  /**
   * Adds breakers at run time (a cache-store that joined the fleet): each starts from the fleet's view
   * the coordinator last sent, if it had one, and is named in every hello from now on. Names already
   * held are left as they are; an empty name throws a RangeError.
   */
  addBreakers(names: readonly string[]): void;
  /** Every breaker, by name. */
  readonly breakers: ReadonlyMap<string, CoordinatedBreaker>;
  /** True while the session is up (its snapshot arrived). */
  readonly connected: boolean;
  /** True once the session has been gone for detach_after, until the next snapshot. */
  readonly detached: boolean;
  /**
   * The live cache-store members as the coordinator last told them; undefined until it has. The last known
   * list holds while the session is down or detached.
   */
  readonly members: FleetMembers | undefined;
  /**
   * Calls `listener` whenever the members change (the first list included), never because the session
   * dropped; answers the unsubscribe. A listener's exception is swallowed.
   */
  onMembersChange(listener: (members: FleetMembers) => void): () => void;
  /** Opens the session (once); until then the breakers answer from local state alone. */
  start(): void;
  /** Ends the session and its timers; the breakers keep answering from local state. */
  close(): void;
}

/**
 * Creates the client and its breakers; the session opens on `start()`, so a
 * service can be built without dialing anything. Bad options throw a
 * RangeError naming the value.
 */
export function createBreakerClient(options: BreakerClientOptions): BreakerClient {
  const names = checkNames(options.breakers);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const timers = options.timers ?? systemTimers;
  const config = options.config;
  const resolve = typeof config === "function" ? config : (name: string) => config.resolveConfig(name);
  const configs = names.map((name) => resolve(name));
  const detachAfterMs = options.detachAfterMs ?? Math.min(...configs.map((c) => c.detachAfterMs));
  const heartbeatFallbackMs = Math.min(...configs.map((c) => c.heartbeatIntervalMs));
  const reconnectMaxMs = options.reconnectMaxMs ?? 5_000;
  const listener = options.onEvent;
  const emit: BreakerEventListener = (event: BreakerClientEvent) => {
    try {
      listener?.(event);
    } catch {
      // A listener's failure must not break the request path; the state is already updated.
    }
  };

  const transport =
    typeof options.transport === "function" ? options.transport({ detachAfterMs, reconnectMaxMs }) : options.transport;
  // The link and the batcher need each other: reports go out on the link, the link (re)starts reports.
  const batcher = new OutcomeBatcher({
    clock,
    timers,
    intervalMs: options.reportIntervalMs,
    send: (counts) => link.send({ kind: "report", counts }),
  });
  const breakers = new Map<string, CoordinatedBreaker>();
  // The fleet's views of every breaker the coordinator knows, in use here or not
  // (a breaker added later starts from it).
  let fleetViews = new Map<string, BreakerView>();
  let members: FleetMembers | undefined;
  const memberListeners = new Set<(members: FleetMembers) => void>();
  // A snapshot's list is the coordinator's word (a restarted one included); a change must be newer than the held one.
  const adoptMembers = (next: FleetMembers | undefined, fromSnapshot: boolean): void => {
    if (next === undefined) return; // a coordinator without membership: what is known holds
    const held = members;
    if (!fromSnapshot && held !== undefined && next.version <= held.version) return;
    members = next;
    if (held !== undefined && sameMembers(held.members, next.members)) return;
    for (const listener of memberListeners) {
      try {
        listener(next);
      } catch {
        // As with events: the list is already updated, a listener's failure must not break the session.
      }
    }
  };
  const recordClock = new CoarseClock(clock, timers, options.recordClockResolutionMs ?? 10);
  const link: CoordinatorLink = new CoordinatorLink({
    transport,
    hello: { instanceId: options.instanceId, service: options.service, address: options.address, breakers: names },
    clock,
    timers,
    random,
    detachAfterMs,
    reconnectMaxMs,
    handlers: {
      onSnapshot(views, heartbeatMs, snapshotMembers, session) {
        const now = clock.now();
        fleetViews = new Map(views.map((v) => [v.name, v]));
        const afterDetach = [...breakers.values()].some((b) => b.detached);
        for (const b of breakers.values())
          b.adoptSnapshot(
            views.find((v) => v.name === b.name),
            now,
          );
        batcher.start(heartbeatMs !== undefined && heartbeatMs > 0 ? heartbeatMs : heartbeatFallbackMs);
        emit({ type: "attached", at: now, afterDetach, ...session });
        adoptMembers(snapshotMembers, true);
      },
      onMembers(next) {
        adoptMembers(next, false);
      },
      onTransition(t) {
        if (t.version > (fleetViews.get(t.name)?.version ?? -1)) fleetViews.set(t.name, t);
        breakers.get(t.name)?.applyTransition(t);
      },
      onProbeGrant(grant) {
        breakers.get(grant.breaker)?.applyProbeGrant(grant, clock.now());
      },
      onDisconnected(error, retryInMs, replica) {
        batcher.stop();
        for (const b of breakers.values()) b.disconnected();
        emit({ type: "disconnected", at: clock.now(), error, retryInMs, replica });
      },
      onDetached() {
        for (const b of breakers.values()) b.detach();
        emit({ type: "detached", at: clock.now() });
      },
    },
  });
  const add = (name: string, config: BreakerConfig): CoordinatedBreaker => {
    const b = new CoordinatedBreaker({
      name,
      config,
      clock,
      recordClock,
      random,
      session: link,
      batcher,
      onEvent: emit,
      probeRetryMs: options.probeRetryMs,
    });
    breakers.set(name, b);
    return b;
  };
  names.forEach((name, i) => add(name, configs[i]!));
  return {
    breaker(name) {
      const b = breakers.get(name);
      if (b === undefined)
        throw new RangeError(`no breaker named ${JSON.stringify(name)} in this client (it has ${names.join(", ")})`);
      return b;
    },
    addBreakers(more) {
      for (const name of more) {
        if (typeof name !== "string" || name === "")
          throw new RangeError(`breaker names must be non-empty strings, got ${JSON.stringify(name)}`);
      }
      for (const name of more) {
        if (breakers.has(name)) continue;
        const b = add(name, resolve(name));
        names.push(name); // the hello of every later session names it
        if (link.connected) b.adoptSnapshot(fleetViews.get(name), clock.now());
        else if (link.detached) b.detach();
      }
    },
    breakers,
    get connected() {
      return link.connected;
    },
    get detached() {
      return link.detached;
    },
    get members() {
      return members;
    },
    onMembersChange(listener) {
      memberListeners.add(listener);
      return () => void memberListeners.delete(listener);
    },
    start() {
      link.start();
    },
    close() {
      link.close();
      batcher.close();
      recordClock.close();
    },
  };
}

function sameMembers(a: readonly FleetMember[], b: readonly FleetMember[]): boolean {
  return a.length === b.length && a.every((m, i) => m.address === b[i]!.address && m.instanceId === b[i]!.instanceId);
}

function checkNames(breakers: readonly string[]): string[] {
  if (breakers.length === 0) throw new RangeError("breakers must name at least one breaker, got none");
  const seen = new Set<string>();
  for (const name of breakers) {
    if (typeof name !== "string" || name === "")
      throw new RangeError(`breaker names must be non-empty strings, got ${JSON.stringify(name)}`);
    if (seen.has(name)) throw new RangeError(`breaker ${JSON.stringify(name)} is named twice`);
    seen.add(name);
  }
  return [...seen];
}
