import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { breakerV1 } from "@breakwater/proto";
import type { GrpcClient } from "@breakwater/server-kit";

/** How a simulated instance opens its session. */
export interface SimInstanceOptions {
  /** Breakers named in the hello (the first one is what `report` and `state` default to). */
  readonly breakers: readonly string[];
  /** Send this first instead of the hello (to test a malformed session); null: send nothing first. */
  readonly first?: breakerV1.SessionRequest["message"] | null;
  /** The service in the hello (default "cache-store"). */
  readonly service?: string;
  /** The address in the hello (default `<id>:50051`). */
  readonly address?: string;
  /** Metadata of the Session call (an instance's `authorization`). */
  readonly headers?: Record<string, string>;
}

/** A members list as received: its version and the members' addresses. */
export interface ReceivedMembers {
  readonly version: number;
  readonly addresses: string[];
}

/** One simulated instance: a real Session stream, its received messages kept in order. */
export class SimInstance {
  readonly received: breakerV1.SessionResponse[] = [];
  /** How the session ended: undefined while open or after a clean end. */
  error: ConnectError | undefined;
  /** True once the coordinator ended the session. */
  closed = false;
  readonly done: Promise<void>;
  readonly #outbox: breakerV1.SessionRequest[] = [];
  readonly #breakers: readonly string[];
  #wake: (() => void) | undefined;
  #ended = false;
  readonly #abort = new AbortController();

  constructor(
    client: GrpcClient<typeof breakerV1.BreakerCoordinator>,
    readonly id: string,
    options: SimInstanceOptions,
  ) {
    this.#breakers = options.breakers;
    const hello = create(breakerV1.HelloSchema, {
      instanceId: id,
      service: options.service ?? "cache-store",
      address: options.address ?? `${id}:50051`,
      breakers: [...options.breakers],
    });
    const first = options.first === undefined ? { case: "hello" as const, value: hello } : options.first;
    if (first !== null) this.send(first);
    this.done = (async () => {
      for await (const m of client.session(this.#requests(), {
        signal: this.#abort.signal,
        headers: options.headers,
      }))
        this.received.push(m);
    })().then(
      () => void (this.closed = true),
      (err: unknown) => {
        this.error = ConnectError.from(err);
        this.closed = true;
      },
    );
  }

  async *#requests(): AsyncGenerator<breakerV1.SessionRequest> {
    for (;;) {
      const next = this.#outbox.shift();
      if (next) yield next;
      else if (this.#ended) return;
      else await new Promise<void>((r) => (this.#wake = r));
    }
  }

  send(message: breakerV1.SessionRequest["message"]): void {
    this.#outbox.push(create(breakerV1.SessionRequestSchema, { message }));
    this.#wake?.();
  }

  report(successes: number, failures: number, breaker = this.#breakers[0]!): void {
    this.send({
      case: "report",
      value: create(breakerV1.OutcomeReportSchema, { counts: [{ breaker, successes, failures }] }),
    });
  }

  /** The breaker's state after the snapshot and every transition so far. */
  state(breaker = this.#breakers[0]!): breakerV1.BreakerState | undefined {
    let s: breakerV1.BreakerState | undefined;
    for (const m of this.received) {
      if (m.message.case === "snapshot") s = m.message.value.breakers.find((b) => b.name === breaker)?.state;
      if (m.message.case === "transition" && m.message.value.breaker?.name === breaker)
        s = m.message.value.breaker.state;
    }
    return s;
  }

  /** The transitions received, in order. */
  transitions(): breakerV1.BreakerTransition[] {
    return this.received.flatMap((m) => (m.message.case === "transition" ? [m.message.value] : []));
  }

  grants(): breakerV1.ProbeGrant[] {
    return this.received.flatMap((m) => (m.message.case === "probeGrant" ? [m.message.value] : []));
  }

  /** The member lists received, in order: the snapshot's, then each change. */
  members(): ReceivedMembers[] {
    return this.received.flatMap((m) => {
      const list =
        m.message.case === "snapshot"
          ? m.message.value.members
          : m.message.case === "members"
            ? m.message.value
            : undefined;
      return list === undefined
        ? []
        : [{ version: Number(list.version), addresses: list.members.map((x) => x.address) }];
    });
  }

  /** The addresses of the newest member list received. */
  addresses(): string[] | undefined {
    return this.members().at(-1)?.addresses;
  }

  /** Drops the stream without a goodbye (cancelled), as when the process dies. */
  kill(): void {
    this.#abort.abort();
  }

  /** Half-closes the stream (the instance says goodbye). */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }
}
