/**
 * How a key's owner fails, as a non-owner sees it: unreachable (the caller
 * falls back to its own storage), or an answer that the hot cache turns into
 * the CacheError its storage would have given.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { CacheError, isCacheError } from "@breakwater/cache";

/** The owner could not be reached: the caller falls back to its own storage. */
export class OwnerDownError extends Error {
  constructor(
    readonly owner: string,
    cause: unknown,
  ) {
    super(`owner ${owner} is unreachable`, { cause });
    this.name = "OwnerDownError";
  }
}

/** True for an owner that could not be reached (also when a cache wrapped it as its storage's failure). */
export function isOwnerDown(err: unknown): err is Error {
  return err instanceof OwnerDownError || (isCacheError(err) && err.cause instanceof OwnerDownError);
}

/**
 * An owner's answer that means it is down: no connection, or UNAVAILABLE that
 * is not its own "storage is unavailable" (that one carries retry-after-ms and
 * would be the answer from any replica).
 */
export function isUnreachable(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Unavailable && !err.metadata.has("retry-after-ms");
}

/** An owner's error as the cache's: what it answered as the same CacheError, unreachable as OwnerDownError. */
export function asStorageError(owner: { readonly name: string }, err: unknown): unknown {
  if (isCacheError(err) || !(err instanceof ConnectError)) return err;
  if (isUnreachable(err)) return new OwnerDownError(owner.name, err);
  const options = { cause: err };
  switch (err.code) {
    case Code.NotFound:
      return new CacheError("not-found", err.rawMessage, options);
    case Code.InvalidArgument:
      return new CacheError("invalid-argument", err.rawMessage, options);
    case Code.FailedPrecondition:
      return new CacheError("precondition-failed", err.rawMessage, options);
    case Code.OutOfRange: {
      const size = err.metadata.get("object-size");
      return new CacheError("range-not-satisfiable", err.rawMessage, {
        ...options,
        objectSize: size === null ? undefined : Number(size),
      });
    }
    case Code.ResourceExhausted:
      return new CacheError("too-large", err.rawMessage, options);
    case Code.Canceled:
      return new CacheError("cancelled", err.rawMessage, options);
    case Code.Unavailable:
      return new CacheError("unavailable", err.rawMessage, {
        ...options,
        retryAfterMs: Number(err.metadata.get("retry-after-ms") ?? 1000),
      });
    default:
      return err;
  }
}
