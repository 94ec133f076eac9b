import { Code, ConnectError } from "@connectrpc/connect";
import type { CallContext } from "../call-context.js";
import type { ServiceRegistration } from "../service-impl.js";
import type { Access, Caller } from "./access.js";
import type { Requirement } from "./permissions.js";

/** What a method needs, from its request (a client stream's first message). */
export type MethodRequirement = (request: never) => Requirement;

/** Options of {@link guardService}. */
export interface GuardOptions {
  readonly access: Access;
  /** What each method needs, by its local name; a method without a rule is open to anyone. */
  readonly rules: Readonly<Record<string, MethodRequirement>>;
  /** Told of every refusal (log it; never with the token). */
  readonly onRefused?: ((method: string, refusal: string, message: string) => void) | undefined;
  /** Told of every call let through, with who and what it needed (to log admin actions with who). */
  readonly onAdmitted?: ((method: string, caller: Caller, need: Requirement) => void) | undefined;
}

const callers = new WeakMap<CallContext, Caller>();

/** The caller a guarded call was allowed for (undefined in an unguarded one). */
export function callerOf(ctx: CallContext): Caller | undefined {
  return callers.get(ctx);
}

/**
 * A registration whose methods first check the caller's `authorization`
 * metadata (`Bearer <token>`), or without it the client certificate the mTLS
 * handshake verified: UNAUTHENTICATED without a known token or certificate,
 * PERMISSION_DENIED outside its permissions. It wraps the service code, so
 * both ports (grpc-js and connect) enforce the same rules.
 */
export function guardService(registration: ServiceRegistration, options: GuardOptions): ServiceRegistration {
  const { desc, impl } = registration;
  const wrapped: Record<string, (...args: never[]) => unknown> = {};
  for (const method of desc.methods) {
    const fn = impl[method.localName] as unknown as (input: unknown, ctx: CallContext) => unknown;
    const rule = options.rules[method.localName] as ((request: unknown) => Requirement) | undefined;
    if (rule === undefined) {
      wrapped[method.localName] = fn as never;
      continue;
    }
    const admit = (request: unknown, ctx: CallContext): void => {
      const need = rule(request);
      const verdict = options.access.check(ctx.requestHeader("authorization"), need, () => ctx.peerName());
      if (verdict.allowed) {
        callers.set(ctx, verdict.caller);
        options.onAdmitted?.(ctx.method, verdict.caller, need);
        return;
      }
      options.onRefused?.(ctx.method, verdict.refusal, verdict.message);
      throw new ConnectError(
        `${method.name} ${verdict.message}`,
        verdict.refusal === "unauthenticated" ? Code.Unauthenticated : Code.PermissionDenied,
      );
    };
    switch (method.methodKind) {
      case "unary":
        wrapped[method.localName] = (async (request: unknown, ctx: CallContext) => {
          admit(request, ctx);
          return fn(request, ctx);
        }) as never;
        break;
      case "server_streaming":
        wrapped[method.localName] = async function* (request: unknown, ctx: CallContext) {
          admit(request, ctx);
          yield* fn(request, ctx) as AsyncIterable<unknown>;
        } as never;
        break;
      case "client_streaming":
        wrapped[method.localName] = (async (requests: AsyncIterable<unknown>, ctx: CallContext) => {
          const rest = await admitFirst(requests, ctx, admit);
          return fn(rest, ctx);
        }) as never;
        break;
      case "bidi_streaming":
        wrapped[method.localName] = async function* (requests: AsyncIterable<unknown>, ctx: CallContext) {
          const rest = await admitFirst(requests, ctx, admit);
          yield* fn(rest, ctx) as AsyncIterable<unknown>;
        } as never;
        break;
    }
  }
  return { ...registration, impl: wrapped };
}

/** Checks a stream's first message, then hands the service the whole stream again. */
async function admitFirst(
  requests: AsyncIterable<unknown>,
  ctx: CallContext,
  admit: (request: unknown, ctx: CallContext) => void,
): Promise<AsyncIterable<unknown>> {
  const iterator = requests[Symbol.asyncIterator]();
  const first = await iterator.next();
  // An empty stream is the service's to refuse (it names what the first message must be).
  admit(first.done === true ? undefined : first.value, ctx);
  return {
    [Symbol.asyncIterator]: () => {
      let replayed = first.done === true;
      return {
        next: () => {
          if (replayed) return iterator.next();
          replayed = true;
          return Promise.resolve(first);
        },
        return: (value?: unknown) =>
          iterator.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined }),
      };
    },
  };
}
