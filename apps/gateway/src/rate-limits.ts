import type { IncomingMessage, ServerResponse } from "node:http";
import type { Caller } from "@breakwater/server-kit";
import { gatewayErrors, sendError } from "./http-errors.js";
import { createTokenBuckets, type TokenBuckets } from "./token-bucket.js";

/** A rate and its burst: requests per second, and how many may come at once. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** Options of {@link createRateLimits}; an absent limit is off. */
export interface RateLimitsOptions {
  /** Every object request, per caller. */
  readonly requests?: RateLimit | undefined;
  /** PURGE by prefix (it drops every key under the prefix, on every replica), per caller, on top of `requests`. */
  readonly prefixPurges?: RateLimit | undefined;
  /** Milliseconds. */
  readonly clock: () => number;
}

/** Per-caller limits of the object API; `admit` answers 429 + Retry-After itself when over. */
export interface RateLimits {
  admit(req: IncomingMessage, res: ServerResponse, caller: Caller, prefixPurge: boolean): boolean;
}

/**
 * The gateway's rate limits (nginx `limit_req`): a token bucket per caller,
 * by token name, or by client address for callers without a token.
 */
export function createRateLimits(options: RateLimitsOptions): RateLimits | undefined {
  const bucketsOf = (limit: RateLimit | undefined): TokenBuckets | undefined =>
    limit === undefined ? undefined : createTokenBuckets({ ratePerSecond: limit.perSecond, burst: limit.burst });
  const requests = bucketsOf(options.requests);
  const prefixPurges = bucketsOf(options.prefixPurges);
  if (requests === undefined && prefixPurges === undefined) return undefined;
  return {
    admit(req, res, caller, prefixPurge) {
      const key = caller.anonymous ? `address ${req.socket.remoteAddress ?? "unknown"}` : `token ${caller.name}`;
      const now = options.clock();
      const wait = requests?.take(key, now) ?? 0;
      if (wait > 0) return refuse(res, wait, "requests");
      const purgeWait = prefixPurge ? (prefixPurges?.take(key, now) ?? 0) : 0;
      if (purgeWait > 0) return refuse(res, purgeWait, "purges by prefix");
      return true;
    },
  };
}

function refuse(res: ServerResponse, waitMs: number, what: string): false {
  if (res.req.method === "PUT") res.setHeader("connection", "close"); // do not read a body we refuse
  sendError(res, gatewayErrors.rateLimited(Math.max(1, Math.ceil(waitMs / 1000)), what));
  return false;
}

/** Requests per second from "100/s", "30/m", "600/h", or a plain number per second; 0 turns a limit off. */
export function parseRate(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m|h))?$/.exec(raw.trim());
  if (m === null) throw new Error('not a rate (e.g. "100/s", "30/m", "600/h")');
  return Number(m[1]) / { s: 1, m: 60, h: 3600 }[(m[2] ?? "s") as "s" | "m" | "h"];
}

/** A rate with its burst (off at rate 0); a burst of 0 means one second's worth of requests (at least 1). */
export function rateLimitOf(perSecond: number, burst: number): RateLimit | undefined {
  if (perSecond === 0) return undefined;
  return { perSecond, burst: burst > 0 ? burst : Math.max(1, Math.ceil(perSecond)) };
}
