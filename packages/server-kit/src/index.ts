/**
 * The service bootstrap shared by breakwater's apps: service code written once
 * and mounted on grpc-js (gRPC port) and connect-node (HTTP/1.1 port), with
 * reflection, health, config, logs, metrics and graceful shutdown.
 */
export { createCallContext, type CallContext } from "./call-context.js";
export { service, type ServiceImpl, type MethodImpl, type ServiceRegistration } from "./service-impl.js";
export { unimplemented, toWireError, type ToServiceError } from "./errors.js";
export { grpcServiceDefinition } from "./grpc-codec.js";
export { mountOnGrpc, type MountOptions } from "./grpc-mount.js";
export { mountOnConnect } from "./connect-mount.js";
export { addReflection } from "./reflection.js";
export { HealthStatus, healthService } from "./health.js";
export { createHttpPort, createHttpOrHttpsServer, type HttpRoute, type HttpPortOptions } from "./http-server.js";
export { createMetricsRegistry, rpcObserver, codeName } from "./metrics.js";
export type { CallObserver } from "./call-observer.js";
export {
  createServiceServer,
  PortInUseError,
  type ServiceServer,
  type ServiceServerOptions,
  type ServiceAddresses,
} from "./service-server.js";
export { runService, type Runnable, type Telemetry } from "./run-service.js";
export { shutDown, drainableHttp, drainableGrpc, type Drainable, type ShutdownOptions } from "./shutdown.js";
export { createLogThrottle, type LogThrottle } from "./log-throttle.js";
export {
  loadConfig,
  env,
  commonConfig,
  parseBytes,
  parseDurationMs,
  ConfigError,
  type ConfigSchema,
  type ConfigOf,
  type ConfigField,
} from "./config.js";
export { createLogger, type Logger } from "./logger.js";
export {
  createGrpcClient,
  grpcTarget,
  toConnectError as grpcErrorToConnectError,
  type GrpcClient,
  type GrpcClientMethod,
  type GrpcCallOptions,
} from "./grpc-client.js";
export {
  tlsConfig,
  loadTlsSettings,
  tlsSettingsOf,
  tlsMaterialProblem,
  type TlsConfig,
  type TlsSettings,
  type TlsMaterial,
} from "./tls-config.js";
export { verifiedPeerName } from "./peer-identity.js";
export { createTransportSecurity, type TransportSecurity, type TransportSecurityEvents } from "./transport-security.js";
export { useClientTransportSecurity, channelCredentialsFor, dialsWithTls } from "./client-credentials.js";
export { startTransportSecurity } from "./process-security.js";
export {
  PERMISSIONS,
  allows,
  parseTokenFile,
  TokenFileError,
  createAccess,
  hashToken,
  presentToken,
  guardService,
  callerOf,
  securityConfig,
  loadAccess,
  outgoingToken,
  protectedModeProblem,
  isLoopback,
  type Permission,
  type Grant,
  type Requirement,
  type TokenEntry,
  type Access,
  type Caller,
  type Verdict,
  type MethodRequirement,
} from "./auth/index.js";
