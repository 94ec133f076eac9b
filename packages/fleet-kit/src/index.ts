/**
 * @breakwater/fleet-kit: what breakwater's services hold of one another,
 * written once: CacheService clients and the invalidation follower (the
 * gateway's upstreams, a replica's peers), the grpc-js channel presets of
 * long-lived streams, and the breaker session with the coordinator (gRPC
 * transport, start-up, event log, state gauge, BREAKER_CONFIG).
 */

/** grpc-js channel options of a long-lived stream: keepalive, reconnect backoff caps. */
export { streamChannelOptions, type StreamChannelOptions } from "./channel-presets.js";
/** A CacheService client tuned for its invalidation stream. */
export {
  createCacheServiceClient,
  type CacheServiceClient,
  type CacheServiceClientOptions,
} from "./cache-service-client.js";
/** Follows cache-stores' WatchInvalidations streams, reopening them with backoff. */
export {
  createInvalidationFollower,
  sleepUnlessAborted,
  type InvalidatedKeys,
  type InvalidationFollower,
  type InvalidationFollowerOptions,
  type InvalidationSource,
} from "./invalidation-follower.js";
/** The cache-store members a process hashes keys over: static lists, itself, the coordinator's live list. */
export {
  createMembership,
  membershipEnv,
  type Membership,
  type MembershipOptions,
  type MembersSource,
} from "./membership.js";
/** The breaker client of a service over gRPC, its events logged and its states exported. */
export { createBreakerSession, logBreakerEvents, type BreakerSessionOptions } from "./breaker-session.js";
/** The Session stream to the coordinator over grpc-js, for breaker clients. */
export { coordinatorTransport } from "./session-transport.js";
/** The breaker-state gauge every service exports (0 closed, 1 half-open, 2 open). */
export {
  registerBreakerStateGauge,
  type BreakerStateGaugeOptions,
  type BreakerStateSample,
} from "./breaker-state-gauge.js";
/** BREAKER_CONFIG: the variable for a config schema, and the file read at start. */
export { breakerConfigEnv, loadBreakerConfig, readBreakerConfigFile } from "./breaker-config.js";
/** Cache-store replicas by member name: round robin, or a key's owner then its fallbacks, each behind its breaker. */
export {
  admittedClient,
  createReplicaPool,
  isUpstreamFailure,
  noUpstreamError,
  replicaBreakerName,
  type Replica,
  type ReplicaPool,
  type ReplicaPoolOptions,
  type RoutedReplica,
} from "./replica-pool.js";
