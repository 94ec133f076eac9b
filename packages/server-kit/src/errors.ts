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
 * Turns anything thrown by service code into a ConnectError fit for a client:
 * ConnectErrors pass; an abort becomes CANCELLED (or DEADLINE_EXCEEDED); any
 * other error becomes INTERNAL with a generic message, so internals never
 * leak (the cause stays on the error for logs).
 */
export function toConnectError(err: unknown, signal?: AbortSignal): ConnectError {
  if (err instanceof ConnectError) return err;
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof ConnectError) return reason;
    return new ConnectError("the call was cancelled", Code.Canceled, undefined, undefined, err);
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}
