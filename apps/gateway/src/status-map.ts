import { Code } from "@connectrpc/connect";

/**
 * gRPC status → HTTP status, the one table the gateway answers errors by.
 * Snake-case code names go into the JSON body as `code`.
 */
const table: Record<number, number> = {
  [Code.Canceled]: 499, // client closed request (nginx's convention); rarely seen by the client itself
  [Code.Unknown]: 502,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 413, // the cache-store's only RESOURCE_EXHAUSTED is a put over its limit
  [Code.FailedPrecondition]: 412, // If-Match / If-None-Match on PUT did not hold
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 416,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 502,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 502,
  [Code.Unauthenticated]: 401,
};

/** The HTTP status for a gRPC code (502 for anything unexpected from upstream). */
export function httpStatusOf(code: Code): number {
  return table[code] ?? 502;
}

/** "NotFound" → "not_found", for JSON error bodies. */
export function codeSlug(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
