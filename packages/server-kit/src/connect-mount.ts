import { createContextKey, createContextValues, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import type { CallContext } from "./call-context.js";
import { toWireError } from "./errors.js";
import type { MountOptions } from "./grpc-mount.js";
import type { ServiceRegistration } from "./service-impl.js";
import { verifiedPeerName } from "./peer-identity.js";

/** The node request's socket, handed to each call's context (connectNodeAdapter's `contextValues`). */
const requestSocket = createContextKey<unknown>(undefined, { description: "the request's socket" });

/** `connectNodeAdapter`'s `contextValues`: what the mount needs of the node request (its socket, for mTLS). */
export function connectContextValues(req: { readonly socket: unknown }): ReturnType<typeof createContextValues> {
  return createContextValues().set(requestSocket, req.socket);
}

/** CallContext over connect's HandlerContext (the HTTP/1.1 port: Connect JSON, gRPC-Web). */
function fromHandlerContext(hc: HandlerContext): CallContext {
  const remaining = hc.timeoutMs();
  return {
    method: `/${hc.service.typeName}/${hc.method.name}`,
    signal: hc.signal,
    deadline: remaining === undefined ? undefined : Date.now() + remaining,
    requestHeader: (name) => hc.requestHeader.get(name) ?? undefined,
    peerName: () => verifiedPeerName(hc.values.get(requestSocket)),
    setResponseHeader: (name, value) => hc.responseHeader.append(name, value),
    setResponseTrailer: (name, value) => hc.responseTrailer.append(name, value),
  };
}

/**
 * Registers service code on a connect router: the same handlers as the grpc-js
 * mount, so curl (Connect JSON) and browsers (gRPC-Web) reach identical logic.
 */
export function mountOnConnect(
  router: ConnectRouter,
  registration: ServiceRegistration,
  options: MountOptions = {},
): void {
  const { desc, impl } = registration;
  const { observer, toServiceError } = options;
  const wrapped: Record<string, unknown> = {};
  for (const method of desc.methods) {
    const fn = impl[method.localName] as unknown as (input: unknown, ctx: CallContext) => unknown;
    const streamingOut = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
    wrapped[method.localName] = streamingOut
      ? async function* (input: unknown, hc: HandlerContext) {
          const ctx = fromHandlerContext(hc);
          const started = performance.now();
          try {
            yield* fn(input, ctx) as AsyncIterable<unknown>;
            observer?.(ctx.method, 0, started, ctx);
          } catch (err) {
            const error = toWireError(err, hc.signal.aborted ? hc.signal : undefined, toServiceError);
            observer?.(ctx.method, error.code, started, ctx, error);
            throw error;
          }
        }
      : async (input: unknown, hc: HandlerContext) => {
          const ctx = fromHandlerContext(hc);
          const started = performance.now();
          try {
            const out = await (fn(input, ctx) as Promise<unknown>);
            observer?.(ctx.method, 0, started, ctx);
            return out;
          } catch (err) {
            const error = toWireError(err, hc.signal.aborted ? hc.signal : undefined, toServiceError);
            observer?.(ctx.method, error.code, started, ctx, error);
            throw error;
          }
        };
  }
  router.service(desc, wrapped as never);
}
