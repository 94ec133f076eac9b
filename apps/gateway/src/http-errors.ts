import type { ServerResponse } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeSlug, httpStatusOf } from "./status-map.js";

/** Answers a JSON error `{"error": ..., "code": ...}` (and Retry-After for 503s). */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  code: string,
  extra: Record<string, string | number> = {},
  retryAfterSeconds?: number,
): void {
  if (res.headersSent) {
    // The status line is gone already: cutting the connection is the only honest signal left.
    res.destroy();
    return;
  }
  const body: Record<string, unknown> = { error: message, code };
  const headers: Record<string, string | number> = { "content-type": "application/json", ...extra };
  if (retryAfterSeconds !== undefined) {
    headers["retry-after"] = retryAfterSeconds;
    body.retry_after = retryAfterSeconds;
  }
  const text = JSON.stringify(body);
  headers["content-length"] = Buffer.byteLength(text);
  res.writeHead(status, headers);
  res.end(res.req.method === "HEAD" ? undefined : text);
}

/** Answers an upstream gRPC error through the one status table. */
export function sendUpstreamError(res: ServerResponse, err: unknown, extra: Record<string, string | number> = {}): void {
  const e = ConnectError.from(err);
  const status = httpStatusOf(e.code);
  let retryAfter: number | undefined;
  if (e.code === Code.Unavailable) {
    const ms = Number(e.metadata.get("retry-after-ms") ?? "1000");
    retryAfter = Math.max(1, Math.ceil((Number.isFinite(ms) ? ms : 1000) / 1000));
  }
  // Messages for the caller's own mistakes, and the deliberate UNAVAILABLEs that carry
  // retry-after-ms (storage down, every upstream breaker open), are meant for people;
  // transport errors name internal addresses and stay generic.
  const meantForPeople = (status >= 400 && status < 500) || (e.code === Code.Unavailable && e.metadata.has("retry-after-ms"));
  const message = meantForPeople ? e.rawMessage : status === 503 ? "a cache-store upstream is unavailable" : "upstream error";
  sendError(res, status, message, codeSlug(e.code), extra, retryAfter);
}
