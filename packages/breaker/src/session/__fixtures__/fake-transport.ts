/** A session transport the test speaks for the coordinator; for tests only. */
import type { BreakerView } from "../../index.js";
import type {
  FleetMembers,
  ReportedCount,
  SessionRequestMessage,
  SessionResponseMessage,
  SessionStream,
  SessionStreamHandlers,
  SessionTransport,
} from "../session-messages.js";

/** One stream as the fake coordinator sees it. */
export class FakeStream implements SessionStream {
  readonly sent: SessionRequestMessage[] = [];
  closedByClient = false;
  ended = false;

  constructor(private readonly handlers: SessionStreamHandlers) {}

  send(message: SessionRequestMessage): void {
    if (!this.ended) this.sent.push(message);
  }

  close(): void {
    this.closedByClient = true;
    this.ended = true;
  }

  /** The coordinator sends a message. */
  deliver(message: SessionResponseMessage): void {
    if (!this.ended) this.handlers.onMessage(message);
  }

  /** The coordinator's snapshot (with members, from a coordinator that keeps them). */
  snapshot(views: readonly BreakerView[], heartbeatMs = 1_000, members?: FleetMembers): void {
    this.deliver({ kind: "snapshot", views, heartbeatMs, members });
  }

  /** The coordinator announces a change of the members. */
  members(version: number, ...addresses: string[]): void {
    this.deliver({ kind: "members", members: fleetMembers(version, ...addresses) });
  }

  /** The stream breaks. */
  fail(error: unknown = new Error("connection reset")): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers.onClose(error);
  }

  /** Reports sent so far (heartbeats included). */
  reports(): (readonly ReportedCount[])[] {
    return this.sent.flatMap((m) => (m.kind === "report" ? [m.counts] : []));
  }

  /** Messages of one kind. */
  ofKind<K extends SessionRequestMessage["kind"]>(kind: K): Extract<SessionRequestMessage, { kind: K }>[] {
    return this.sent.filter((m): m is Extract<SessionRequestMessage, { kind: K }> => m.kind === kind);
  }
}

/**
 * Hands out FakeStreams; `failOpen` makes the next opens fail at once (coordinator unreachable), `down` does
 * for the replicas it names. `replicaNames` is the list the link chooses from, `openedOn` each stream's replica.
 */
export class FakeTransport implements SessionTransport {
  readonly streams: FakeStream[] = [];
  readonly openedOn: string[] = [];
  readonly down = new Set<string>();
  replicaNames: readonly string[] = ["coordinator"];
  failOpen = false;

  replicas(): readonly string[] {
    return this.replicaNames;
  }

  open(handlers: SessionStreamHandlers, replica: string): SessionStream {
    const stream = new FakeStream(handlers);
    this.streams.push(stream);
    this.openedOn.push(replica);
    if (this.failOpen || this.down.has(replica)) stream.fail(new Error("connection refused"));
    return stream;
  }

  /** The newest stream. */
  get last(): FakeStream {
    const s = this.streams.at(-1);
    if (s === undefined) throw new Error("no stream opened");
    return s;
  }
}

/** A fleet view for tests. */
export function view(name: string, state: BreakerView["state"], version: number, openUntil?: number): BreakerView {
  return { name, state, version, openUntil, forced: false };
}

/** A members list for tests: each address's instance is named after it. */
export function fleetMembers(version: number, ...addresses: string[]): FleetMembers {
  return { version, members: addresses.map((address) => ({ address, instanceId: `id-${address}` })) };
}
