import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Service code reports failures as ConnectError (its Code numbers are the gRPC
 * status codes); both mounts carry code, message and metadata (as trailers).
 * These helpers keep the common cases short.
 */

/** An RPC that is declared but not built yet, said honestly. */
export function unimplemented(what: string): ConnectError {
  return new ConnectError(`${what} is not implemented yet`, Code.Unimplemented);
}

/**
 * An app's one catalogue of its own errors (e.g. a library's branded errors)
 * as ConnectErrors, given when a service is mounted: handlers just throw.
 * Returns anything it does not know unchanged.
 */
export type ToServiceError = (err: unknown) => unknown;

/**
 * Turns anything thrown by service code into the ConnectError a client gets:
 * the app's `toServiceError` first; ConnectErrors pass; an abort becomes
 * CANCELLED (or the abort's own ConnectError, e.g. DEADLINE_EXCEEDED); any
 * other error becomes INTERNAL with a generic message, so internals (messages,
 * stacks) never leak. The original error stays the cause, for logs.
 */
export function toWireError(err: unknown, signal?: AbortSignal, toServiceError?: ToServiceError): ConnectError {
  const mapped = toServiceError === undefined ? err : toServiceError(err);
  if (mapped instanceof ConnectError) return mapped;
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof ConnectError) return reason;
    return new ConnectError("the call was cancelled", Code.Canceled, undefined, undefined, err);
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}
