import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { CallContext } from "./call-context.js";

type In<M extends DescMethod> = MessageShape<M["input"]>;
type Out<M extends DescMethod> = MessageInitShape<M["output"]>;

/** The handler of one method, by its kind: written once, mounted on grpc-js and connect. */
export type MethodImpl<M extends DescMethod> = M extends { methodKind: "unary" }
  ? (request: In<M>, ctx: CallContext) => Promise<Out<M>>
  : M extends { methodKind: "server_streaming" }
    ? (request: In<M>, ctx: CallContext) => AsyncIterable<Out<M>>
    : M extends { methodKind: "client_streaming" }
      ? (requests: AsyncIterable<In<M>>, ctx: CallContext) => Promise<Out<M>>
      : M extends { methodKind: "bidi_streaming" }
        ? (requests: AsyncIterable<In<M>>, ctx: CallContext) => AsyncIterable<Out<M>>
        : never;

/** A service's implementation: one handler per method of the protobuf-es descriptor. */
export type ServiceImpl<S extends DescService> = {
  [K in keyof S["method"]]: MethodImpl<S["method"][K]>;
};

/** A descriptor with its implementation, ready to mount. */
export interface ServiceRegistration {
  readonly desc: DescService;
  // The handler types are checked where the registration is made (`service()`).
  readonly impl: Record<string, (...args: never[]) => unknown>;
  /**
   * Local names of the methods whose calls get a server span when tracing is
   * on: the request path. Long-lived streams (watches) are left out: a span
   * as long as the process says nothing about a request.
   */
  readonly tracedMethods?: readonly string[] | undefined;
}

/**
 * Pairs a descriptor with a full implementation, checked by the compiler. An
 * RPC that is not built yet still needs a handler: throw `unimplemented()`.
 */
export function service<S extends DescService>(desc: S, impl: ServiceImpl<S>): ServiceRegistration {
  return { desc, impl: impl as unknown as ServiceRegistration["impl"] };
}
