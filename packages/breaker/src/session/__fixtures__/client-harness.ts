/** A breaker client on driven time and a fake coordinator; for tests only. */
import { type BreakerConfig, type BreakerView, createBreakerConfig } from "../../index.js";
import { type BreakerClient, type BreakerClientOptions, createBreakerClient } from "../breaker-client.js";
import type { BreakerClientEvent } from "../breaker-events.js";
import type { CoordinatedBreaker } from "../coordinated-breaker.js";
import type { FleetMembers } from "../session-messages.js";
import { DrivenTime } from "./driven-time.js";
import { type FakeStream, FakeTransport, view } from "./fake-transport.js";

export const NAME = "s3:http://storage.test:9000";

export interface ClientHarness {
  readonly time: DrivenTime;
  readonly transport: FakeTransport;
  readonly client: BreakerClient;
  readonly breaker: CoordinatedBreaker;
  readonly events: BreakerClientEvent[];
  readonly config: BreakerConfig;
  /** The current stream (the newest one opened). */
  readonly stream: FakeStream;
  /** The coordinator answers the current stream's hello with a snapshot (default: NAME closed, version 1). */
  attach(views?: readonly BreakerView[], heartbeatMs?: number, members?: FleetMembers): FakeStream;
  /** The coordinator announces a transition of NAME. */
  transition(from: BreakerView["state"], to: BreakerView["state"], version: number, openUntil?: number): void;
  /** The coordinator is reachable again: time runs (10 ms steps) until the client has dialled a live stream. */
  dialBack(): FakeStream;
  /** Records `n` outcomes of ordinary calls. */
  fail(n: number): void;
  succeed(n: number): void;
}

/** Jitter sits mid-range (random 0.5); open times carry no jitter unless asked. */
export function clientHarness(
  overrides: Partial<BreakerConfig> = {},
  options: Partial<BreakerClientOptions> = {},
  time = new DrivenTime(),
): ClientHarness {
  const transport = new FakeTransport();
  const events: BreakerClientEvent[] = [];
  const config = createBreakerConfig({ openJitter: 0, ...overrides });
  const client = createBreakerClient({
    instanceId: "i1",
    service: "cache-store",
    address: "i1:50051",
    breakers: [NAME],
    config: () => config,
    clock: time,
    timers: time,
    random: () => 0.5,
    onEvent: (e) => events.push(e),
    transport,
    ...options,
  });
  client.start();
  const breaker = client.breaker(NAME);
  const h: ClientHarness = {
    time,
    transport,
    client,
    breaker,
    events,
    config,
    get stream() {
      return transport.last;
    },
    attach(views = [view(NAME, "closed", 1)], heartbeatMs = 1_000, members?: FleetMembers) {
      transport.last.snapshot(views, heartbeatMs, members);
      return transport.last;
    },
    dialBack() {
      transport.failOpen = false;
      const opened = transport.streams.length;
      for (let waited = 0; transport.streams.length === opened || transport.last.ended; waited += 10) {
        if (waited > 60_000) throw new Error("the client did not dial again within 60 s");
        time.advance(10);
      }
      return transport.last;
    },
    transition(from, to, version, openUntil) {
      transport.last.deliver({
        kind: "transition",
        transition: { ...view(NAME, to, version, openUntil), from, to, reason: "test", at: time.now() },
      });
    },
    fail(n) {
      for (let i = 0; i < n; i++) breaker.record(false, 5);
    },
    succeed(n) {
      for (let i = 0; i < n; i++) breaker.record(true, 5);
    },
  };
  return h;
}
