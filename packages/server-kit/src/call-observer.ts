import type { ConnectError } from "@connectrpc/connect";
import type { CallContext } from "./call-context.js";

/**
 * Called once when a call ends, with its gRPC status code (0 = OK) and the
 * `performance.now()` at which it started: how the mounts feed logs and
 * metrics without an interceptor chain on the hot path.
 */
export type CallObserver = (
  method: string,
  code: number,
  startedAt: number,
  ctx: CallContext,
  error?: ConnectError,
) => void;
