/**
 * The session of one process with the coordinator (design.md
 * "BreakerCoordinator"): opens the stream on one of the coordinator's
 * replicas and says hello, counts as connected once the snapshot arrives.
 * When the stream ends it tries another replica at once (ReplicaChoice), and
 * once every replica has failed reconnects with capped exponential backoff
 * and jitter (reconnectDelay). Without a session for `detachAfterMs` (the
 * stream broke or never came up) the process is detached; the next snapshot
 * attaches it again. Nothing here ever blocks a caller: sends while not
 * connected are refused at once.
 */
import { type BreakerTransition, type BreakerView, type Clock, type Random, reconnectDelay } from "../index.js";
import type {
  FleetMembers,
  HelloMessage,
  ProbeGrantMessage,
  SessionRequestMessage,
  SessionResponseMessage,
  SessionStream,
  SessionTransport,
} from "./session-messages.js";
import { ReplicaChoice } from "./replica-choice.js";
import type { SessionTimers, TimerHandle } from "./timers.js";

/** How a session came up: where, and after how long without one. */
export interface SessionStart {
  /** The coordinator replica the session is on. */
  readonly replica: string;
  /** Time from losing the previous session to this snapshot; undefined for the first session. */
  readonly withoutSessionMs: number | undefined;
}

/** What the link tells its owner. */
export interface CoordinatorLinkHandlers {
  /** A snapshot arrived: the session is up (again); the coordinator's view replaces the held one. */
  onSnapshot(
    views: readonly BreakerView[],
    heartbeatMs: number | undefined,
    members: FleetMembers | undefined,
    start: SessionStart,
  ): void;
  onTransition(transition: BreakerTransition): void;
  /** The live cache-store members changed. */
  onMembers(members: FleetMembers): void;
  onProbeGrant(grant: ProbeGrantMessage): void;
  /** The stream on `replica` ended (or never came up); the next attempt follows in `retryInMs`. */
  onDisconnected(error: unknown, retryInMs: number, replica: string): void;
  /** No session for detachAfterMs: fall back to local breakers. */
  onDetached(): void;
}

/** What a session link is built from. */
export interface CoordinatorLinkOptions {
  readonly transport: SessionTransport;
  readonly hello: HelloMessage;
  readonly clock: Clock;
  readonly timers: SessionTimers;
  readonly random: Random;
  /** Without a session this long, the process is detached. */
  readonly detachAfterMs: number;
  /** Picks the replica of each attempt (default: one drawing from `random`). */
  readonly choice?: ReplicaChoice | undefined;
  /** First reconnect delay before jitter (default 100 ms), once every replica has failed. */
  readonly reconnectInitialMs?: number | undefined;
  /** Cap of the reconnect delay (default 5 s). */
  readonly reconnectMaxMs?: number | undefined;
  readonly handlers: CoordinatorLinkHandlers;
}

/** One process's link to the coordinator: stream, hello, reconnects, detaching. */
export class CoordinatorLink {
  private readonly options: CoordinatorLinkOptions;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly choice: ReplicaChoice;
  private stream: SessionStream | undefined;
  private replica = "";
  private streamId = 0;
  /** When the last session was lost; undefined while connected and before the first session. */
  private lostAt: number | undefined;
  private connectedValue = false;
  private detachedValue = false;
  private attempts = 0;
  private closed = false;
  private hadSession = false;
  private reconnectTimer: TimerHandle | undefined;
  private detachTimer: TimerHandle | undefined;
  private handshakeTimer: TimerHandle | undefined;

  constructor(options: CoordinatorLinkOptions) {
    if (!(options.detachAfterMs > 0))
      throw new RangeError(`detachAfterMs must be greater than 0, got ${options.detachAfterMs}`);
    this.options = options;
    this.initialMs = options.reconnectInitialMs ?? 100;
    this.maxMs = options.reconnectMaxMs ?? 5_000;
    this.choice = options.choice ?? new ReplicaChoice(options.random);
    if (!(this.initialMs > 0)) throw new RangeError(`reconnectInitialMs must be greater than 0, got ${this.initialMs}`);
    if (!(this.maxMs >= this.initialMs))
      throw new RangeError(`reconnectMaxMs must be ≥ reconnectInitialMs, got ${this.maxMs}`);
  }

  /** True while a session is up: its snapshot arrived and the stream has not ended. */
  get connected(): boolean {
    return this.connectedValue;
  }

  /** True once the session has been gone for detachAfterMs, until the next snapshot. */
  get detached(): boolean {
    return this.detachedValue;
  }

  /** Opens the first stream; detaches if no session comes up within detachAfterMs. */
  start(): void {
    if (this.closed || this.stream !== undefined) return;
    this.armDetach();
    this.open();
  }

  /** Sends on the current session; false (and nothing sent) while not connected. */
  send(message: SessionRequestMessage): boolean {
    if (!this.connectedValue || this.stream === undefined) return false;
    this.stream.send(message);
    return true;
  }

  /** Ends the session for good. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connectedValue = false;
    this.clear("reconnectTimer");
    this.clear("detachTimer");
    this.clear("handshakeTimer");
    this.stream?.close();
    this.stream = undefined;
  }

  private open(): void {
    const id = ++this.streamId;
    const { timers, detachAfterMs, transport } = this.options;
    let stream: SessionStream;
    try {
      this.replica = this.choice.next(transport.replicas());
      stream = transport.open(
        {
          onMessage: (m) => {
            if (id === this.streamId) this.receive(m);
          },
          onClose: (error) => {
            if (id === this.streamId) this.lost(error ?? new Error("the coordinator ended the session"));
          },
        },
        this.replica,
      );
    } catch (err) {
      return this.lost(err); // e.g. a target grpc-js cannot parse: retried like any failure, and told
    }
    if (id !== this.streamId) return; // it failed while opening
    this.stream = stream;
    stream.send({ kind: "hello", hello: this.options.hello });
    // A stream that never brings its snapshot (a connect that hangs, a black-holed replica) is dropped and
    // tried again; with other replicas to try, after half of detach_after, so that one of them may still
    // take the session over before the process detaches.
    const handshakeMs = transport.replicas().length > 1 ? detachAfterMs / 2 : detachAfterMs;
    this.handshakeTimer = timers.setTimeout(() => {
      this.handshakeTimer = undefined;
      if (id !== this.streamId || this.connectedValue) return;
      this.stream?.close();
      this.lost(new Error(`no snapshot within ${handshakeMs} ms`));
    }, handshakeMs);
  }

  private receive(m: SessionResponseMessage): void {
    const h = this.options.handlers;
    switch (m.kind) {
      case "snapshot":
        this.clear("handshakeTimer");
        this.clear("detachTimer");
        this.attempts = 0;
        this.connectedValue = true;
        this.detachedValue = false;
        this.choice.succeeded();
        this.hadSession = true;
        h.onSnapshot(m.views, m.heartbeatMs, m.members, {
          replica: this.replica,
          withoutSessionMs: this.lostAt === undefined ? undefined : this.options.clock.now() - this.lostAt,
        });
        this.lostAt = undefined;
        return;
      case "transition":
        if (this.connectedValue) h.onTransition(m.transition);
        return;
      case "probe-grant":
        if (this.connectedValue) h.onProbeGrant(m.grant);
        return;
      case "members":
        if (this.connectedValue) h.onMembers(m.members);
        return;
    }
  }

  private lost(error: unknown): void {
    if (this.closed) return;
    this.streamId++; // late events of the old stream are ignored from here
    this.stream = undefined;
    this.connectedValue = false;
    // Timed from the loss of a session, not from failed attempts before the first one.
    if (this.hadSession) this.lostAt ??= this.options.clock.now();
    this.clear("handshakeTimer");
    this.armDetach();
    // Another replica may answer at once; only when every one has failed is there a reason to wait.
    const delay = this.choice.failed(this.replica, this.options.transport.replicas())
      ? reconnectDelay(this.attempts++, { initialMs: this.initialMs, maxMs: this.maxMs }, this.options.random)
      : 0;
    this.reconnectTimer = this.options.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed) this.open();
    }, delay);
    this.options.handlers.onDisconnected(error, delay, this.replica);
  }

  private armDetach(): void {
    if (this.detachedValue || this.detachTimer !== undefined) return;
    this.detachTimer = this.options.timers.setTimeout(() => {
      this.detachTimer = undefined;
      if (this.connectedValue || this.closed) return;
      this.detachedValue = true;
      this.options.handlers.onDetached();
    }, this.options.detachAfterMs);
  }

  private clear(timer: "reconnectTimer" | "detachTimer" | "handshakeTimer"): void {
    const handle = this[timer];
    if (handle === undefined) return;
    this.options.timers.clearTimeout(handle);
    this[timer] = undefined;
  }
}
