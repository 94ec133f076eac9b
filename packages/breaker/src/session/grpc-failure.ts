/**
 * Which gRPC errors mean the backend failed (design.md "Breakers"): the
 * classifier to give a breaker policy around a gRPC call (the gateway's
 * upstreams). Codes are the gRPC spec's numbers (statuscodes.md), as on
 * ConnectError and grpc-js ServiceError alike.
 */

/**
 * UNKNOWN (2), DEADLINE_EXCEEDED (4), INTERNAL (13), UNAVAILABLE (14),
 * DATA_LOSS (15): the backend failed or could not be reached.
 */
const failureCodes = new Set([2, 4, 13, 14, 15]);

/**
 * True when `error` means the backend failed: one of the codes above, or an
 * error with no gRPC code at all (a transport error). Any other code — e.g.
 * NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE — is an
 * answer, so the backend is up; CANCELLED is the caller's doing.
 */
export function isGrpcFailure(error: unknown): boolean {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code !== "number" || failureCodes.has(code);
}
