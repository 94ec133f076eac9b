import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { cacheV1 } from "@breakwater/proto";
import { createCallContext } from "../call-context.js";
import type { ServiceRegistration } from "../service-impl.js";
import { createAccess, hashToken } from "./access.js";
import { callerOf, guardService } from "./guard-service.js";

const access = createAccess({
  tokens: [{ name: "writer", digest: Buffer.from(hashToken("w"), "hex"), grants: [{ permission: "write" }] }],
  anonymous: [],
});

type Put = { part: { case: string; value: { bucket?: string; key?: string } } };

/** CacheService with only the handlers the tests call. */
function registration(seen: unknown[]): ServiceRegistration {
  const impl: Record<string, unknown> = {};
  for (const m of cacheV1.CacheService.methods) impl[m.localName] = () => Promise.reject(new Error("not called"));
  impl["putObject"] = async (requests: AsyncIterable<Put>, ctx: ReturnType<typeof createCallContext>) => {
    for await (const r of requests) seen.push(r);
    return { who: callerOf(ctx)?.name };
  };
  impl["headObject"] = async () => ({ ok: true });
  return { desc: cacheV1.CacheService, impl: impl as ServiceRegistration["impl"] };
}

const guarded = (seen: unknown[]) =>
  guardService(registration(seen), {
    access,
    rules: {
      putObject: (r: Put | undefined) => ({
        permission: "write",
        bucket: r?.part.value.bucket,
        key: r?.part.value.key,
      }),
      headObject: () => ({ permission: "read" }),
    },
  });

async function* stream(...messages: Put[]): AsyncIterable<Put> {
  yield* messages;
}

describe("guardService", () => {
  it("checks a client stream's first message, then hands the service the whole stream", async () => {
    const seen: unknown[] = [];
    const put = guarded(seen).impl["putObject"] as unknown as (s: AsyncIterable<Put>, ctx: unknown) => Promise<unknown>;
    const header = { part: { case: "header", value: { bucket: "b", key: "k" } } };
    const chunk = { part: { case: "chunk", value: {} } };
    const ctx = createCallContext({
      method: "/breakwater.cache.v1.CacheService/PutObject",
      headers: { authorization: "Bearer w" },
    });
    expect(await put(stream(header, chunk, chunk), ctx)).toEqual({ who: "writer" });
    expect(seen).toEqual([header, chunk, chunk]);
  });

  it("refuses with UNAUTHENTICATED or PERMISSION_DENIED, naming the method, before the service runs", async () => {
    const seen: unknown[] = [];
    const service = guarded(seen);
    const put = service.impl["putObject"] as unknown as (s: AsyncIterable<Put>, ctx: unknown) => Promise<unknown>;
    const header = { part: { case: "header", value: { bucket: "b", key: "k" } } };
    const none = await put(stream(header), createCallContext({})).catch((e: unknown) => e);
    expect([(none as ConnectError).code, (none as ConnectError).rawMessage]).toEqual([
      Code.Unauthenticated,
      "PutObject needs a bearer token allowed to write in b/k",
    ]);
    const head = service.impl["headObject"] as unknown as (r: unknown, ctx: unknown) => Promise<unknown>;
    const denied = await head({}, createCallContext({ headers: { authorization: "Bearer w" } })).catch(
      (e: unknown) => e,
    );
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
    expect(seen).toEqual([]);
  });
});
