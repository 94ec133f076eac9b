/**
 * The Session stream over grpc-js (design.md "Stack": grpc-js clients, typed
 * by protobuf-es). Each stream gets a channel of its own with a private
 * subchannel: a reconnect then dials at once instead of inheriting grpc-js's
 * own reconnect backoff (up to 2 min by default) from a shared subchannel;
 * the coordinator link applies its own capped backoff with jitter. Keepalive
 * pings notice a coordinator that vanished without closing its socket. The
 * link picks the replica of each stream among those COORDINATOR_URL names
 * (coordinator-replicas.ts: a DNS name stands for its records).
 */
import { breakerV1 } from "@breakwater/proto";
import { createGrpcClient } from "@breakwater/server-kit";
import {
  fromSessionResponse,
  type SessionRequestInit,
  type SessionRequestMessage,
  type SessionStream,
  type SessionStreamHandlers,
  type SessionTiming,
  type SessionTransport,
  toSessionRequest,
} from "@breakwater/breaker/session";
import { streamChannelOptions } from "./channel-presets.js";
import { type CoordinatorReplicas, createCoordinatorReplicas } from "./coordinator-replicas.js";

/** Options of the gRPC session transport. */
export interface GrpcSessionTransportOptions {
  /** The coordinator's replicas (COORDINATOR_URL). */
  readonly replicas: CoordinatorReplicas;
  /** Interval of keepalive pings and how long one may go unanswered before the stream is dropped. */
  readonly keepaliveMs: number;
  /** Cap of grpc-js's own reconnect backoff within one channel. */
  readonly maxReconnectMs: number;
}

/**
 * The Session transport to the coordinator's replicas, tuned to the
 * session's timing: keepalive pings find a black-holed coordinator within
 * ~detach_after / 2, so the link moves on (or the detach timer runs). What
 * every breaker client over gRPC passes as its `transport`; `urls` is
 * COORDINATOR_URL as the config parsed it, one address, or the replicas themselves.
 */
export function coordinatorTransport(
  urls: string | readonly string[] | CoordinatorReplicas,
): (timing: SessionTiming) => SessionTransport {
  const replicas =
    typeof urls === "string"
      ? createCoordinatorReplicas({ urls: [urls] })
      : "current" in urls
        ? urls
        : createCoordinatorReplicas({ urls });
  return ({ detachAfterMs, reconnectMaxMs }) =>
    grpcSessionTransport({
      replicas,
      keepaliveMs: Math.max(100, Math.round(detachAfterMs / 4)),
      maxReconnectMs: reconnectMaxMs,
    });
}

/** Opens Session streams to the coordinator with grpc-js. */
export function grpcSessionTransport(options: GrpcSessionTransportOptions): SessionTransport {
  const channelOptions = streamChannelOptions({
    keepaliveMs: options.keepaliveMs,
    keepaliveTimeoutMs: options.keepaliveMs,
    reconnect: { initialMs: 100, maxMs: options.maxReconnectMs },
    privateSubchannel: true,
  });
  return {
    replicas() {
      return options.replicas.current().map((r) => r.url);
    },
    open(handlers: SessionStreamHandlers, replica: string): SessionStream {
      // A replica dropped from the list meanwhile (DNS) is still dialed by its URL.
      const known = options.replicas.current().find((r) => r.url === replica);
      const client = createGrpcClient(
        breakerV1.BreakerCoordinator,
        known?.target ?? replica,
        known?.authority === undefined
          ? channelOptions
          : {
              ...channelOptions,
              "grpc.default_authority": known.authority,
              // Under TLS the certificate names the configured host, not the record's IP: verify that name
              // (grpc-js checks the dialled host otherwise, and every session after the first lookup failed).
              "grpc.ssl_target_name_override": hostOf(known.authority),
            },
      );
      const outbox = new Outbox<SessionRequestInit>();
      const abort = new AbortController();
      let closed = false;
      const end = (error?: unknown): void => {
        client.close();
        if (closed) return;
        closed = true;
        handlers.onClose(error);
      };
      void (async () => {
        for await (const response of client.session(outbox, { signal: abort.signal })) {
          if (closed) return;
          const message = fromSessionResponse(response);
          if (message !== undefined) handlers.onMessage(message);
        }
      })().then(
        () => end(),
        (err: unknown) => end(err ?? new Error("session stream failed")),
      );
      return {
        send(message: SessionRequestMessage): void {
          if (!closed) outbox.push(toSessionRequest(message));
        },
        close(): void {
          closed = true;
          outbox.end();
          abort.abort();
          client.close();
        },
      };
    },
  };
}

/** Requests waiting to be written: pushes never wait, the writer iterates. */
class Outbox<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const next = this.items.shift();
      if (next !== undefined) yield next;
      else if (this.ended) return;
      else {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    }
  }
}

/** "name:port" → "name" (a DNS name: records are only made for names). */
function hostOf(authority: string): string {
  return authority.replace(/:\d+$/, "");
}
