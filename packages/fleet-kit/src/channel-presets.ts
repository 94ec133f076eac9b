/**
 * grpc-js channel options of breakwater's long-lived streams (a cache-store's
 * invalidations, the coordinator's Session), set in one place. grpc-js's own
 * reconnect backoff grows to 120 s by default: a backend back after a long
 * outage would wait that long for its traffic and its streams, so the cap is
 * always ours. HTTP/2 keepalive pings while calls are open make a peer that
 * vanished without closing its socket break the stream.
 */
import type { ReconnectBackoff } from "@breakwater/breaker";

/** What a stream's channel is tuned to. */
export interface StreamChannelOptions {
  /** Interval of keepalive pings while calls are open. */
  readonly keepaliveMs: number;
  /** How long a ping may go unanswered before the connection is dropped. */
  readonly keepaliveTimeoutMs: number;
  /** grpc-js's own reconnect backoff within the channel: first delay and cap. */
  readonly reconnect: ReconnectBackoff;
  /**
   * A subchannel of its own instead of grpc-js's shared one: a new channel
   * then dials at once instead of inheriting a shared subchannel's backoff.
   */
  readonly privateSubchannel?: boolean | undefined;
  /** Largest message accepted (grpc-js default: 4 MiB). */
  readonly maxReceiveBytes?: number | undefined;
}

/** The grpc-js channel options (`createGrpcClient`'s third argument) of a stream's channel. */
export function streamChannelOptions(options: StreamChannelOptions): Readonly<Record<string, number>> {
  return {
    "grpc.keepalive_time_ms": options.keepaliveMs,
    "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs,
    "grpc.initial_reconnect_backoff_ms": options.reconnect.initialMs,
    "grpc.max_reconnect_backoff_ms": options.reconnect.maxMs,
    ...(options.privateSubchannel === true ? { "grpc.use_local_subchannel_pool": 1 } : {}),
    ...(options.maxReceiveBytes === undefined ? {} : { "grpc.max_receive_message_length": options.maxReceiveBytes }),
  };
}
