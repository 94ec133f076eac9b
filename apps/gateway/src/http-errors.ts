import { STATUS_CODES, type ServerResponse } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { isCacheError } from "@breakwater/cache";

/**
 * The gateway's error catalogue: every error answer it gives, as HTTP status,
 * stable code (the JSON body's `code`) and message, and the one table from
 * gRPC codes to HTTP statuses.
 */

/** An error answer: `{"error": message, "code": code}` with this status. */
export interface HttpFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** Sent as Retry-After and `retry_after` (503s). */
  readonly retryAfterSeconds?: number | undefined;
}

/** The gateway's own answers. */
export const gatewayErrors = {
  /** A bucket or key the one name check refused, or a path that cannot be decoded. */
  invalidName: (message: string): HttpFailure => ({ status: 400, code: "invalid_argument", message }),
  noPath: { status: 400, code: "bad_request", message: "the request-target has no path" },
  noRoute: { status: 404, code: "not_found", message: "no such route" },
  methodNotAllowed: (method: string | undefined, where: string): HttpFailure => ({
    status: 405,
    code: "method_not_allowed",
    message: `method ${method} is not allowed ${where}`,
  }),
  /** No token, or one the gateway does not know: sent with `WWW-Authenticate: Bearer` (RFC 6750). */
  unauthenticated: (message: string): HttpFailure => ({ status: 401, code: "unauthenticated", message }),
  /** A known token outside its permissions. */
  forbidden: (message: string): HttpFailure => ({ status: 403, code: "permission_denied", message }),
  /** Over the caller's rate limit: come back after `seconds`. */
  rateLimited: (seconds: number, what: string): HttpFailure => ({
    status: 429,
    code: "rate_limited",
    message: `too many ${what}: over this caller's rate limit`,
    retryAfterSeconds: seconds,
  }),
  tooLarge: (maxBytes: number): HttpFailure => ({
    status: 413,
    code: "too_large",
    message: `the body is larger than the limit of ${maxBytes} bytes`,
  }),
  rangeNotSatisfiable: { status: 416, code: "out_of_range", message: "the range is not satisfiable" },
  overloaded: { status: 503, code: "unavailable", message: "too many requests in flight", retryAfterSeconds: 1 },
  internal: { status: 500, code: "internal", message: "internal error" },
  // What node:http reports before there is a request (answered on the raw socket).
  headersTooLarge: { status: 431, code: "bad_request", message: "request headers too large" },
  requestTimeout: { status: 408, code: "bad_request", message: "request timeout" },
  badRequest: { status: 400, code: "bad_request", message: "bad request" },
} as const satisfies Record<string, HttpFailure | ((...args: never[]) => HttpFailure)>;

/** gRPC status → HTTP status: the one table the gateway answers upstream errors by. */
const statusByCode: Record<number, number> = {
  [Code.Canceled]: 499, // client closed request (nginx's convention); rarely seen by the client itself
  [Code.Unknown]: 502,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  // The gateway calls CacheService as itself (BW_TOKEN or its certificate) after checking the client's own
  // credential here, so an upstream refusal is the gateway's misconfiguration, not the client's: 502.
  [Code.PermissionDenied]: 502,
  [Code.ResourceExhausted]: 413, // the cache-store's only RESOURCE_EXHAUSTED is a put over its limit
  [Code.FailedPrecondition]: 412, // If-Match / If-None-Match on PUT did not hold
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 416,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 502,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 502,
  [Code.Unauthenticated]: 502,
};

/** The HTTP status for a gRPC code (502 for anything unexpected from upstream). */
export function httpStatusOf(code: Code): number {
  return statusByCode[code] ?? 502;
}

/** "NotFound" → "not_found", for JSON error bodies. */
export function codeSlug(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * What a failed object request answers: a refused name (CacheError
 * "invalid-argument") is 400; a CacheService error goes through the table.
 * Messages for the caller's own mistakes, and the deliberate UNAVAILABLEs that
 * carry retry-after-ms (storage down, every upstream breaker open), are meant
 * for people; transport errors name internal addresses and stay generic.
 */
export function failureOf(err: unknown): HttpFailure {
  if (isCacheError(err, "invalid-argument")) return gatewayErrors.invalidName(err.message);
  const e = ConnectError.from(err);
  const status = httpStatusOf(e.code);
  let retryAfterSeconds: number | undefined;
  if (e.code === Code.Unavailable) {
    const ms = Number(e.metadata.get("retry-after-ms") ?? "1000");
    retryAfterSeconds = Math.max(1, Math.ceil((Number.isFinite(ms) ? ms : 1000) / 1000));
  }
  if (e.code === Code.Unauthenticated || e.code === Code.PermissionDenied) {
    return {
      status,
      code: "bad_gateway",
      message: "the cache-store refused the gateway's own credential (its BW_TOKEN or client certificate)",
    };
  }
  const forPeople =
    (status >= 400 && status < 500) || (e.code === Code.Unavailable && e.metadata.has("retry-after-ms"));
  const message = forPeople
    ? e.rawMessage
    : status === 503
      ? "a cache-store upstream is unavailable"
      : "upstream error";
  return { status, code: codeSlug(e.code), message, retryAfterSeconds };
}

/** Answers a JSON error `{"error": ..., "code": ...}` (and Retry-After with `retry_after` when it has one). */
export function sendError(
  res: ServerResponse,
  failure: HttpFailure,
  extra: Record<string, string | number> = {},
): void {
  if (res.headersSent) {
    // The status line is gone already: cutting the connection is the only honest signal left.
    res.destroy();
    return;
  }
  const body: Record<string, unknown> = { error: failure.message, code: failure.code };
  const headers: Record<string, string | number> = { "content-type": "application/json", ...extra };
  if (failure.retryAfterSeconds !== undefined) {
    headers["retry-after"] = failure.retryAfterSeconds;
    body.retry_after = failure.retryAfterSeconds;
  }
  const text = JSON.stringify(body);
  headers["content-length"] = Buffer.byteLength(text);
  res.writeHead(failure.status, headers);
  res.end(res.req.method === "HEAD" ? undefined : text);
}

/** The same answer as raw bytes, for a socket node:http gave up on (no ServerResponse); it closes the connection. */
export function rawErrorResponse(failure: HttpFailure): string {
  const body = JSON.stringify({ error: failure.message, code: failure.code });
  return (
    `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status]}\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}
