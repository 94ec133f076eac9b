import * as grpc from "@grpc/grpc-js";
import { breakerV1 } from "@breakwater/proto";
import { grpcServiceDefinition } from "@breakwater/server-kit";

// BreakerCoordinator.Session with the codec every server here uses; requests go out as bytes serialised once.
const session = grpcServiceDefinition(breakerV1.BreakerCoordinator)["session"]!;
const serializeRequest = session.requestSerialize as (value: object) => Buffer;
const parseResponse = session.responseDeserialize as (bytes: Buffer) => breakerV1.SessionResponse;
const passBytes = (b: Buffer): Buffer => b;

/** A SessionRequest (`{ case, value }` of its oneof, plain objects) serialised once, to be written many times. */
export function sessionRequestBytes(message: { case: string; value: object }): Buffer {
  return serializeRequest({ message });
}

/** An OutcomeReport of one breaker, serialised. */
export function reportBytes(breaker: string, successes: number, failures: number): Buffer {
  return sessionRequestBytes({ case: "report", value: { counts: [{ breaker, successes, failures }] } });
}

/** A ProbeRequest for one breaker, serialised (for a closed breaker the answer is a refusal). */
export function probeRequestBytes(breaker: string): Buffer {
  return sessionRequestBytes({ case: "probeRequest", value: { breaker } });
}

/** An empty OutcomeReport: a heartbeat (design.md "BreakerCoordinator"). */
const heartbeat = sessionRequestBytes({ case: "report", value: { counts: [] } });

/** How `BenchSession.pump` paces itself by the server's answers. */
export interface PumpFlow {
  /** Messages written between two acknowledgement requests. */
  readonly batch: number;
  /** A serialised ProbeRequest: the server answers it after handling everything written before it. */
  readonly ack: Buffer;
  /** Acknowledgement requests that may be unanswered at once. */
  readonly window: number;
}

interface StateWaiter {
  readonly breaker: string;
  readonly state: breakerV1.BreakerState;
  readonly resolve: (at: number) => void;
  readonly reject: (err: Error) => void;
}

/**
 * One simulated instance on a real Session stream (grpc-js): says hello,
 * writes pre-serialised messages (in bulk paced by the server's answers,
 * `pump`), sends heartbeats when idle, and notes when each breaker state
 * arrives (performance.now(), on receipt).
 */
export class BenchSession {
  readonly #call: grpc.ClientDuplexStream<Buffer, breakerV1.SessionResponse>;
  readonly #waiters = new Set<StateWaiter>();
  readonly #finished: Promise<void>;
  #failure: Error | undefined;
  #lastWriteAt = 0;
  /** ProbeRequests sent by `pump` and not answered yet. */
  #unanswered = 0;
  #onAnswer: (() => void) | undefined;
  /** Resolves once the coordinator's snapshot has arrived. */
  readonly snapshot: Promise<void>;

  constructor(
    client: grpc.Client,
    readonly instanceId: string,
    breakers: readonly string[],
  ) {
    this.#call = client.makeBidiStreamRequest(session.path, passBytes, parseResponse);
    let snapshotArrived!: () => void;
    let snapshotFailed!: (err: Error) => void;
    this.snapshot = new Promise<void>((resolve, reject) => ((snapshotArrived = resolve), (snapshotFailed = reject)));
    this.#call.on("data", (m: breakerV1.SessionResponse) => {
      const at = performance.now();
      if (m.message.case === "snapshot") snapshotArrived();
      else if (m.message.case === "probeGrant") {
        this.#unanswered = Math.max(0, this.#unanswered - 1);
        this.#onAnswer?.();
        this.#onAnswer = undefined;
      } else if (m.message.case === "transition" && m.message.value.breaker !== undefined)
        this.#arrived(m.message.value.breaker, at);
    });
    this.#finished = new Promise<void>((resolve) => {
      this.#call.on("error", (err: Error) => {
        this.#fail(err);
        resolve();
      });
      this.#call.on("status", (s: grpc.StatusObject) => {
        if (s.code !== grpc.status.OK)
          this.#fail(new Error(`session ${instanceId} ended: ${grpc.status[s.code]} ${s.details}`));
        resolve();
      });
    });
    void this.#finished.then(() =>
      snapshotFailed(this.#failure ?? new Error(`session ${instanceId} ended before its snapshot`)),
    );
    this.snapshot.catch(() => undefined);
    this.write(
      sessionRequestBytes({
        case: "hello",
        value: { instanceId, service: "bench", address: `${instanceId}:0`, breakers },
      }),
    );
  }

  #arrived(view: breakerV1.BreakerView, at: number): void {
    for (const w of this.#waiters) {
      if (w.breaker !== view.name || w.state !== view.state) continue;
      this.#waiters.delete(w);
      w.resolve(at);
    }
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const w of this.#waiters) w.reject(this.#failure);
    this.#waiters.clear();
  }

  /** Writes one message; false when the stream's buffer is full (wait for `drained()`). */
  write(bytes: Buffer): boolean {
    this.#lastWriteAt = performance.now();
    return this.#call.write(bytes);
  }

  /** Sends a heartbeat unless something was written within `quietMs`. */
  heartbeat(quietMs: number): void {
    if (this.#failure === undefined && performance.now() - this.#lastWriteAt >= quietMs) this.write(heartbeat);
  }

  /**
   * Writes `bytes` over and over while `running()`, as fast as the server
   * takes them. grpc-js's write callback (hence "drain") fires once Node's
   * HTTP/2 stream has queued the bytes, not once they are sent, so a stream
   * written in a loop buffers without bound in the client (measured here:
   * 75k reports queued in 3 s, then 25 s of client CPU to flush them). The
   * only acknowledgement Session offers is the answer to a ProbeRequest, and
   * the server handles a session's messages in order; so after every
   * `flow.batch` messages the pump sends `flow.ack` (a ProbeRequest) and keeps
   * at most `flow.window` of them unanswered: the pace is the server's.
   */
  async pump(bytes: Buffer, running: () => boolean, flow: PumpFlow): Promise<number> {
    let written = 0;
    while (running()) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#unanswered >= flow.window) {
        await Promise.race([new Promise<void>((resolve) => (this.#onAnswer = resolve)), this.#finished]);
        continue;
      }
      for (let i = 0; i < flow.batch; i++) this.write(bytes);
      written += flow.batch;
      this.write(flow.ack);
      this.#unanswered++;
    }
    return written;
  }

  /** Resolves with performance.now() at the arrival of the next transition of `breaker` into `state`. */
  nextState(breaker: string, state: breakerV1.BreakerState): Promise<number> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<number>((resolve, reject) => this.#waiters.add({ breaker, state, resolve, reject }));
  }

  /** Half-closes the stream and waits (at most `timeoutMs`) for the server to end it; cancels it otherwise. */
  async end(timeoutMs = 2000): Promise<void> {
    this.#call.end();
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      this.#finished.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (late) this.#call.cancel();
  }
}

/** Options of `openSessionFleet`. */
export interface SessionFleetOptions {
  /** "host:port" of a BreakerCoordinator. */
  readonly address: string;
  /** How many sessions (simulated instances). */
  readonly sessions: number;
  /** Connections the sessions are spread over (each its own grpc-js channel). */
  readonly channels: number;
  /** Breakers every session says hello for. */
  readonly breakers: readonly string[];
  /** Instance ids are `<prefix>-<n>`. */
  readonly idPrefix: string;
  /** How often idle sessions send a heartbeat (the coordinator marks silent instances stale after 3). */
  readonly heartbeatMs: number;
}

/** Sessions of many simulated instances over a few connections. */
export interface SessionFleet {
  readonly sessions: readonly BenchSession[];
  /**
   * Starts every session writing `bytes` as fast as it is taken (`BenchSession.pump`);
   * the answer stops them and resolves, once every pump has returned, with the messages written.
   */
  pump(bytes: Buffer, flow: PumpFlow): () => Promise<number>;
  /** Ends every session, then closes the connections. */
  close(): Promise<void>;
}

/**
 * Opens `sessions` Session streams, each with its hello, and waits for every
 * snapshot. Closes what it opened when that fails.
 */
export async function openSessionFleet(options: SessionFleetOptions): Promise<SessionFleet> {
  const clients = Array.from(
    { length: options.channels },
    // A local subchannel pool gives each client its own connection;
    // no retries, so no retry buffer between writes and the wire.
    () =>
      new grpc.Client(options.address, grpc.credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
        "grpc.enable_retries": 0,
      }),
  );
  const sessions: BenchSession[] = [];
  const heartbeats = setInterval(() => {
    for (const s of sessions) s.heartbeat(options.heartbeatMs / 2);
  }, options.heartbeatMs / 2);
  heartbeats.unref();
  const close = async (): Promise<void> => {
    clearInterval(heartbeats);
    await Promise.all(sessions.map((s) => s.end()));
    for (const c of clients) c.close();
  };
  try {
    const deadline = Date.now() + 10_000;
    await Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((resolve, reject) => c.waitForReady(deadline, (err) => (err ? reject(err) : resolve()))),
      ),
    );
    for (let i = 0; i < options.sessions; i++) {
      sessions.push(new BenchSession(clients[i % clients.length]!, `${options.idPrefix}-${i + 1}`, options.breakers));
    }
    await Promise.all(sessions.map((s) => s.snapshot));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    sessions,
    pump(bytes, flow) {
      let running = true;
      const pumps = Promise.all(sessions.map((s) => s.pump(bytes, () => running, flow)));
      pumps.catch(() => undefined); // surfaced by stop()
      return async () => {
        running = false;
        return (await pumps).reduce((a, b) => a + b, 0);
      };
    },
    close,
  };
}
