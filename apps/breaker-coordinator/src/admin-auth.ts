import { timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CallContext } from "@breakwater/server-kit";

/**
 * Guards mutating RPCs with `authorization: Bearer <BW_ADMIN_TOKEN>` when a
 * token is set. Compared in constant time; the token never reaches a log.
 */
export function createAdminGuard(token: string, onRefused: (method: string, why: string) => void) {
  const expected = Buffer.from(`Bearer ${token}`);
  return function requireAdmin(ctx: CallContext): void {
    if (token === "") return;
    const given = Buffer.from(ctx.requestHeader("authorization") ?? "");
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    if (ok) return;
    const why = given.length === 0 ? "no authorization header" : "wrong token";
    onRefused(ctx.method, why);
    throw new ConnectError(
      `${ctx.method.split("/").pop()} needs authorization: Bearer <BW_ADMIN_TOKEN> (${why})`,
      Code.Unauthenticated,
    );
  };
}
