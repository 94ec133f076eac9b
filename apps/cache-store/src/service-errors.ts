import { Code, ConnectError } from "@connectrpc/connect";
import { isCacheError } from "@breakwater/cache";

/**
 * The cache-store's error catalogue: the one place where the cache's errors
 * become gRPC statuses (design.md "CacheService" errors), given to server-kit
 * as the services' `toServiceError` when they are mounted. Messages stay short
 * and free of internals; the original error rides along as the cause for
 * logs. Anything else passes unchanged: ConnectErrors as they are, the rest
 * becomes INTERNAL "internal error" in the kit.
 */
export function toServiceError(err: unknown): unknown {
  if (!isCacheError(err)) return err; // ConnectErrors pass; anything else becomes INTERNAL in the kit
  const e = err;
  switch (e.kind) {
    case "not-found":
      return new ConnectError(e.message, Code.NotFound, undefined, undefined, e);
    case "invalid-argument":
      return new ConnectError(e.message, Code.InvalidArgument, undefined, undefined, e);
    case "precondition-failed":
      // A failed If-Match / If-None-Match write: the gateway answers 412.
      return new ConnectError(e.message, Code.FailedPrecondition, undefined, undefined, e);
    case "range-not-satisfiable": {
      // The size lets an HTTP front answer 416 with Content-Range: bytes */size.
      const md = e.objectSize === undefined ? undefined : new Headers({ "object-size": String(e.objectSize) });
      return new ConnectError(e.message, Code.OutOfRange, md, undefined, e);
    }
    case "too-large":
      return new ConnectError(e.message, Code.ResourceExhausted, undefined, undefined, e);
    case "unavailable": {
      // Open breaker or failing storage: clients may retry after this long.
      const md = new Headers({ "retry-after-ms": String(Math.max(0, Math.round(e.retryAfterMs ?? 1000))) });
      return new ConnectError("storage is unavailable", Code.Unavailable, md, undefined, e);
    }
    case "cancelled":
      return new ConnectError("the call was cancelled", Code.Canceled, undefined, undefined, e);
  }
}
