import { breakerV1 } from "@breakwater/proto";
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { service, type CallContext, type ServiceRegistration } from "@breakwater/server-kit";
import type { Coordinator, SessionInput, SessionOutput } from "./coordinator.js";
import { FleetUnavailableError } from "./fleet-state.js";
import { StateNotSavedError } from "./local-fleet-state.js";
import { MessageQueue } from "./message-queue.js";
import {
  detailsToProto,
  forceModeFromProto,
  instanceToProto,
  membersToProto,
  transitionToProto,
  viewToProto,
} from "./breaker-proto.js";

type SessionResponse = breakerV1.SessionResponse["message"];

/** The longest override an operator may set: anything longer is a typo, and past year 9999 not even a Timestamp. */
const MAX_TTL_MS = 365 * 24 * 3600 * 1000;

/** Options of `coordinatorService`. */
export interface CoordinatorServiceOptions {
  /** Most messages a session may fall behind by before it is cut off (default 10 000; it reconnects afresh). */
  readonly sessionQueueLimit?: number;
  /** A session fell `limit` messages behind and was cut off (for logs and metrics). */
  readonly onSessionCutOff?: (instanceId: string, limit: number) => void;
  /** Who makes a call (the caller's token name), for overrides and the admin log; undefined when unknown. */
  readonly callerName?: ((ctx: CallContext) => string | undefined) | undefined;
  /** An operator forced or reset a breaker (log it, with who). */
  readonly onAdminAction?: ((action: "force" | "reset", name: string, who: string, detail: object) => void) | undefined;
}

/** breakwater.breaker.v1.BreakerCoordinator over the coordinator's domain. */
export function coordinatorService(
  coordinator: Coordinator,
  options: CoordinatorServiceOptions = {},
): ServiceRegistration {
  const sessionQueueLimit = options.sessionQueueLimit ?? 10_000;
  return service(breakerV1.BreakerCoordinator, {
    async *session(requests, ctx) {
      const iterator = requests[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done || first.value.message.case !== "hello") {
        throw new ConnectError("the first Session message must be hello", Code.InvalidArgument);
      }
      const hello = first.value.message.value;
      if (hello.instanceId === "") throw new ConnectError("hello.instance_id is empty", Code.InvalidArgument);
      hello.breakers.forEach((name) => checkBreakerName(name, "hello.breakers"));
      const queue = new MessageQueue<SessionResponse>({
        limit: sessionQueueLimit,
        overflowError: (limit) =>
          new ConnectError(
            `the session fell more than ${limit} messages behind: reconnect for a fresh snapshot`,
            Code.ResourceExhausted,
          ),
        // The coordinator stops sending to it and lists the instance as stale at once.
        onOverflow: () => {
          link.close();
          options.onSessionCutOff?.(hello.instanceId, sessionQueueLimit);
        },
      });
      const { link, views, members } = guard(() =>
        coordinator.attach(
          hello,
          (out) => queue.push(toResponse(out)),
          (err) => queue.close(toConnectError(err)),
        ),
      );
      try {
        yield {
          message: {
            case: "snapshot",
            value: create(breakerV1.SnapshotSchema, {
              breakers: views.map(viewToProto),
              heartbeatInterval: durationFromMs(coordinator.heartbeatMs),
              members: membersToProto(members),
            }),
          },
        };
        // Read the instance's messages beside the writes; the session ends when either side does.
        void (async () => {
          for (;;) {
            const next = await iterator.next();
            if (next.done) return;
            const input = toInput(next.value.message);
            if (input) link.handle(input);
          }
        })().then(
          () => queue.close(),
          (err: unknown) => queue.close(ctx.signal.aborted ? undefined : err),
        );
        for await (const message of queue) yield { message };
      } finally {
        link.close();
        queue.close();
      }
    },

    async listBreakers() {
      return { breakers: guard(() => coordinator.list()).map(detailsToProto) };
    },

    async getBreaker(req) {
      const d = guard(() => coordinator.describe(req.name));
      if (d === undefined) throw new ConnectError(`no breaker named ${JSON.stringify(req.name)}`, Code.NotFound);
      return { breaker: detailsToProto(d) };
    },

    async forceBreaker(req, ctx) {
      if (req.name === "") throw new ConnectError("name is empty", Code.InvalidArgument);
      checkBreakerName(req.name, "name");
      const mode = forceModeFromProto(req.mode);
      if (mode === undefined)
        throw new ConnectError(
          "mode must be FORCE_MODE_OPEN, FORCE_MODE_CLOSED or FORCE_MODE_AUTO",
          Code.InvalidArgument,
        );
      const ttlMs = req.ttl === undefined ? undefined : ttlToMs(req.ttl);
      const who = options.callerName?.(ctx);
      const forced = await coordinator.force(req.name, mode, req.reason, ttlMs || undefined, who).catch(rethrow);
      options.onAdminAction?.("force", req.name, who ?? "anonymous", { mode, reason: req.reason, ttlMs });
      return { breaker: detailsToProto(forced) };
    },

    async resetBreaker(req, ctx) {
      const d = await coordinator.reset(req.name).catch(rethrow);
      if (d === undefined) throw new ConnectError(`no breaker named ${JSON.stringify(req.name)}`, Code.NotFound);
      options.onAdminAction?.("reset", req.name, options.callerName?.(ctx) ?? "anonymous", {});
      return { breaker: detailsToProto(d) };
    },

    async listInstances() {
      const instances = guard(() => coordinator.instances());
      return { instances: instances.map((i) => instanceToProto(i.record, i.live, i.locallyOpen)) };
    },

    async *watchBreakers(req, ctx) {
      const names = new Set(req.names);
      const queue = new MessageQueue<breakerV1.BreakerTransition>();
      const unwatch = coordinator.watch((t) => {
        if (names.size === 0 || names.has(t.name)) queue.push(transitionToProto(t));
      });
      const onAbort = (): void => queue.close();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        for await (const transition of queue) yield { transition };
      } finally {
        unwatch();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  });
}

/** Breaker names are backends (`s3:<endpoint>`, `cache-store:<address>`): non-empty, bounded. */
function checkBreakerName(name: string, where: string): void {
  if (name === "" || name.length > 512) {
    throw new ConnectError(
      `${where}: a breaker name must be 1-512 characters, got ${JSON.stringify(name.slice(0, 40))}`,
      Code.InvalidArgument,
    );
  }
}

/** Runs a domain call, turning the fleet state's own errors into gRPC codes. */
function guard<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    return rethrow(err);
  }
}

function rethrow(err: unknown): never {
  throw toConnectError(err);
}

/**
 * The one place the coordinator's domain errors become gRPC codes: a change in effect but not on disk is not
 * acknowledged (the operator may retry); a replica without etcd answers UNAVAILABLE (another replica may serve).
 */
function toConnectError(err: unknown): unknown {
  if (err instanceof StateNotSavedError) {
    return new ConnectError(
      "the change is in effect, but saving the state failed (see the coordinator's log): " +
        "it may not survive a restart until a save works",
      Code.Unavailable,
      undefined,
      undefined,
      err,
    );
  }
  if (err instanceof FleetUnavailableError) {
    return new ConnectError(
      `${err.message}; try another coordinator replica`,
      Code.Unavailable,
      undefined,
      undefined,
      err,
    );
  }
  return err;
}

/** An override's ttl in ms (a positive ttl under 1 ms counts as 1 ms, never as "until lifted"). */
function ttlToMs(ttl: { seconds: bigint; nanos: number }): number {
  if (ttl.nanos <= -1e9 || ttl.nanos >= 1e9) {
    throw new ConnectError(`ttl.nanos must be within ±999999999, got ${ttl.nanos}`, Code.InvalidArgument);
  }
  if (ttl.seconds < 0n || ttl.nanos < 0) throw new ConnectError("ttl must not be negative", Code.InvalidArgument);
  if (ttl.seconds > BigInt(MAX_TTL_MS / 1000)) {
    const most = `${MAX_TTL_MS / 3_600_000}h (a year)`;
    throw new ConnectError(`ttl must be at most ${most}, got ${ttl.seconds}s`, Code.InvalidArgument);
  }
  return Number(ttl.seconds) * 1000 + Math.ceil(ttl.nanos / 1e6);
}

function toInput(m: breakerV1.SessionRequest["message"]): SessionInput | undefined {
  switch (m.case) {
    case "report":
      for (const c of m.value.counts) {
        checkBreakerName(c.breaker, "report.counts.breaker");
        if (c.slowCalls > c.successes + c.failures) {
          throw new ConnectError(
            `report for ${c.breaker}: slow_calls (${c.slowCalls}) exceeds successes + failures`,
            Code.InvalidArgument,
          );
        }
      }
      return {
        kind: "report",
        counts: m.value.counts.map((c) => ({
          breaker: c.breaker,
          successes: c.successes,
          failures: c.failures,
          slowCalls: c.slowCalls,
          locallyOpen: c.locallyOpen,
        })),
      };
    case "probeRequest":
      checkBreakerName(m.value.breaker, "probe_request.breaker");
      return { kind: "probe-request", breaker: m.value.breaker };
    case "probeResult":
      checkBreakerName(m.value.breaker, "probe_result.breaker");
      return { kind: "probe-result", breaker: m.value.breaker, permitId: m.value.permitId, success: m.value.success };
    case "hello":
      throw new ConnectError("hello may only be sent once, first", Code.InvalidArgument);
    default:
      return undefined; // an unknown message from a newer client: ignore
  }
}

function toResponse(out: SessionOutput): SessionResponse {
  switch (out.kind) {
    case "transition":
      return { case: "transition", value: transitionToProto(out.transition) };
    case "members":
      return { case: "members", value: membersToProto(out.members) };
    case "probe-grant":
      return {
        case: "probeGrant",
        value: create(breakerV1.ProbeGrantSchema, {
          breaker: out.breaker,
          granted: true,
          permitId: out.permitId,
          leaseExpiresAt: timestampFromMs(out.expiresAt),
        }),
      };
    case "probe-refusal":
      return {
        case: "probeGrant",
        value: create(breakerV1.ProbeGrantSchema, { breaker: out.breaker, granted: false }),
      };
  }
}
