import type { IncomingMessage, ServerResponse } from "node:http";
import { verifiedPeerName, type Access, type Caller, type Logger, type Requirement } from "@breakwater/server-kit";
import { gatewayErrors, sendError } from "./http-errors.js";
import type { ObjectPath } from "./object-path.js";

/**
 * What an object request needs: GET and HEAD `read`, PUT and DELETE `write`,
 * PURGE `purge` (by prefix: over every key under it). Undefined for methods
 * the object API refuses anyway (405).
 */
export function objectRequirement(method: string | undefined, path: ObjectPath): Requirement | undefined {
  switch (method) {
    case "GET":
    case "HEAD":
      return { permission: "read", bucket: path.bucket, key: path.key };
    case "PUT":
    case "DELETE":
      return { permission: "write", bucket: path.bucket, key: path.key };
    case "PURGE":
      return { permission: "purge", bucket: path.bucket, key: path.key };
    default:
      return undefined;
  }
}

/**
 * Checks the request's `Authorization: Bearer <token>` (without one, the
 * client certificate the mTLS handshake verified) against what it needs.
 * Answers 401 (with `WWW-Authenticate: Bearer`, RFC 6750) without a known
 * token and 403 outside its permissions, and returns undefined; else the
 * caller (for rate limits and logs). The token itself is never logged.
 */
export function admitObjectRequest(
  access: Access,
  req: IncomingMessage,
  res: ServerResponse,
  need: Requirement,
  logger: Logger,
): Caller | undefined {
  const verdict = access.check(req.headers.authorization, need, () => verifiedPeerName(req.socket));
  if (verdict.allowed) {
    // An admin action is logged with who did it.
    if (need.permission === "purge" && access.enabled)
      logger.info({ who: verdict.caller.name, bucket: need.bucket, key: need.key }, "PURGE");
    return verdict.caller;
  }
  if (req.method === "PUT") res.setHeader("connection", "close"); // do not read a body we refuse
  const message = `${req.method} ${verdict.message}`;
  if (verdict.refusal === "unauthenticated")
    sendError(res, gatewayErrors.unauthenticated(message), { "www-authenticate": "Bearer" });
  else sendError(res, gatewayErrors.forbidden(message));
  return undefined;
}
