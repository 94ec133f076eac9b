import * as grpc from "@grpc/grpc-js";
import { breakerV1 } from "@breakwater/proto";

const { BreakerState } = breakerV1;

type SessionCall = grpc.ServerDuplexStream<breakerV1.SessionRequest, object>;
type Unary<Req> = grpc.handleUnaryCall<Req, object>;

/** What the sink keeps per breaker: the least that the bench's fan-out runs need. */
interface SinkBreaker {
  state: breakerV1.BreakerState;
  version: bigint;
  successes: number;
  failures: number;
  /** Instances that reported failures since the last reset. */
  readonly failing: Set<string>;
}

/**
 * The coordinator benchmark's baseline: BreakerCoordinator's Session written
 * by hand against grpc-js, with the same messages and codec as the real
 * coordinator but none of its machinery (the kit's mount and call context,
 * sliding windows, quorum over the window, the instance registry, the state
 * file, logs and metrics). It absorbs reports (adding up successes per
 * instance, answered by ListInstances), opens a breaker once two instances
 * have reported failures and broadcasts the transition to every session,
 * and ResetBreaker closes it again (broadcast too). GetBreaker answers state
 * and window counts. Everything else answers UNIMPLEMENTED.
 */
export function sessionSinkHandlers(heartbeatMs: number): grpc.UntypedServiceImplementation {
  const sessions = new Set<SessionCall>();
  const instances = new Map<string, { successes: number; failures: number }>();
  const breakers = new Map<string, SinkBreaker>();

  const breaker = (name: string): SinkBreaker => {
    let b = breakers.get(name);
    if (b === undefined)
      breakers.set(
        name,
        (b = { state: BreakerState.CLOSED, version: 1n, successes: 0, failures: 0, failing: new Set() }),
      );
    return b;
  };
  const view = (name: string, b: SinkBreaker) => ({ name, state: b.state, version: b.version });
  const details = (name: string, b: SinkBreaker) => ({
    ...view(name, b),
    window: { successes: BigInt(b.successes), failures: BigInt(b.failures) },
  });
  const move = (name: string, b: SinkBreaker, to: breakerV1.BreakerState, reason: string): void => {
    const from = b.state;
    b.state = to;
    b.version++;
    const message = { message: { case: "transition", value: { breaker: view(name, b), from, reason } } };
    for (const s of sessions) s.write(message);
  };

  return {
    session(call: SessionCall) {
      let id = "";
      call.on("data", (m: breakerV1.SessionRequest) => {
        const msg = m.message; // undefined for a request that did not parse (the codec's MalformedMessage): ignored
        switch (msg?.case) {
          case "hello": {
            id = msg.value.instanceId;
            if (!instances.has(id)) instances.set(id, { successes: 0, failures: 0 });
            sessions.add(call);
            const heartbeatInterval = {
              seconds: BigInt(Math.floor(heartbeatMs / 1000)),
              nanos: (heartbeatMs % 1000) * 1e6,
            };
            call.write({
              message: {
                case: "snapshot",
                value: { breakers: msg.value.breakers.map((n) => view(n, breaker(n))), heartbeatInterval },
              },
            });
            return;
          }
          case "report": {
            const instance = instances.get(id);
            if (instance === undefined) return;
            for (const c of msg.value.counts) {
              instance.successes += c.successes;
              instance.failures += c.failures;
              const b = breaker(c.breaker);
              b.successes += c.successes;
              b.failures += c.failures;
              if (c.failures > 0) b.failing.add(id);
              if (b.state === BreakerState.CLOSED && b.failing.size >= 2)
                move(c.breaker, b, BreakerState.OPEN, `${b.failing.size} instances failing`);
            }
            return;
          }
          case "probeRequest":
            call.write({ message: { case: "probeGrant", value: { breaker: msg.value.breaker, granted: false } } });
            return;
          default:
            return;
        }
      });
      const gone = (): boolean => sessions.delete(call);
      call.on("end", () => {
        gone();
        call.end();
      });
      call.on("error", gone);
      call.on("cancelled", gone);
    },
    getBreaker: ((call, callback) => {
      const b = breakers.get(call.request.name);
      if (b === undefined)
        return callback({ code: grpc.status.NOT_FOUND, details: `no breaker named ${call.request.name}` });
      callback(null, { breaker: details(call.request.name, b) });
    }) satisfies Unary<breakerV1.GetBreakerRequest>,
    resetBreaker: ((call, callback) => {
      const b = breakers.get(call.request.name);
      if (b === undefined)
        return callback({ code: grpc.status.NOT_FOUND, details: `no breaker named ${call.request.name}` });
      b.successes = b.failures = 0;
      b.failing.clear();
      if (b.state !== BreakerState.CLOSED) move(call.request.name, b, BreakerState.CLOSED, "reset by an operator");
      callback(null, { breaker: details(call.request.name, b) });
    }) satisfies Unary<breakerV1.ResetBreakerRequest>,
    listInstances: ((_call, callback) => {
      const list = [...instances].map(([instanceId, r]) => ({
        instanceId,
        successes: BigInt(r.successes),
        failures: BigInt(r.failures),
      }));
      callback(null, { instances: list });
    }) satisfies Unary<breakerV1.ListInstancesRequest>,
  };
}
