import * as grpc from "@grpc/grpc-js";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GrpcCallContext } from "./grpc-call-context.js";
import { grpcServiceDefinition, MalformedMessage } from "./grpc-codec.js";
import { toWireError, type ToServiceError } from "./errors.js";
import type { ServiceRegistration } from "./service-impl.js";
import type { CallObserver } from "./call-observer.js";
import { tracedHandler } from "./traced-handler.js";

type Handler = (...args: never[]) => unknown;

/** Options of {@link mountOnGrpc} and `mountOnConnect`. */
export interface MountOptions {
  /** Told of every finished call (metrics, logs). */
  readonly observer?: CallObserver | undefined;
  /** The app's error catalogue, applied to whatever a handler throws before the kit's own mapping. */
  readonly toServiceError?: ToServiceError | undefined;
}

/**
 * Mounts service code on a grpc-js server: the hot path of every service. Maps
 * the four method kinds, cancellation (the context's signal), metadata,
 * trailers and errors (ConnectError code → gRPC status, metadata → trailers).
 */
export function mountOnGrpc(server: grpc.Server, registration: ServiceRegistration, options: MountOptions = {}): void {
  const { desc, impl } = registration;
  const traced = new Set(registration.tracedMethods ?? []);
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of desc.methods) {
    const fn = impl[method.localName];
    if (typeof fn !== "function") throw new TypeError(`${desc.typeName} lacks a handler for ${method.name}`);
    const path = `/${desc.typeName}/${method.name}`;
    handlers[method.localName] = traced.has(method.localName)
      ? tracedHandler(path, (tracedOptions) => makeHandler(method, path, fn as Handler, tracedOptions), options)
      : makeHandler(method, path, fn as Handler, options);
  }
  server.addService(grpcServiceDefinition(desc, "server"), handlers);
}

function makeHandler(method: DescMethod, path: string, fn: Handler, options: MountOptions): grpc.UntypedHandleCall {
  const call = fn as (...args: unknown[]) => unknown;
  const { observer } = options;
  switch (method.methodKind) {
    case "unary":
      return (c: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
        const ctx = new GrpcCallContext(path, c);
        const started = observer === undefined ? 0 : performance.now();
        (c.request instanceof MalformedMessage
          ? Promise.reject(malformed(c.request))
          : (call(c.request, ctx) as Promise<object>)
        ).then(
          (response) => {
            ctx.flushHeader();
            callback(null, response, ctx.trailer);
            observer?.(path, 0, started, ctx);
          },
          (err: unknown) => fail(ctx, err, started, (status) => callback(status), options),
        );
      };
    case "client_streaming":
      return (c: grpc.ServerReadableStream<object, object>, callback: grpc.sendUnaryData<object>) => {
        const ctx = new GrpcCallContext(path, c);
        const started = observer === undefined ? 0 : performance.now();
        (call(requestsOf(c), ctx) as Promise<object>).then(
          (response) => {
            ctx.flushHeader();
            callback(null, response, ctx.trailer);
            observer?.(path, 0, started, ctx);
          },
          (err: unknown) => fail(ctx, err, started, (status) => callback(status), options),
        );
      };
    case "server_streaming":
      return (c: grpc.ServerWritableStream<object, object>) => {
        const ctx = new GrpcCallContext(path, c);
        const messages =
          c.request instanceof MalformedMessage
            ? rejecting(malformed(c.request))
            : (call(c.request, ctx) as AsyncIterable<object>);
        void stream(c, ctx, messages, options);
      };
    case "bidi_streaming":
      return (c: grpc.ServerDuplexStream<object, object>) => {
        const ctx = new GrpcCallContext(path, c);
        void stream(c, ctx, call(requestsOf(c), ctx) as AsyncIterable<object>, options);
      };
  }
}

/**
 * The request messages of a client or bidi stream. A plain `for await` over
 * the call would destroy the duplex when the loop ends, and with it the
 * response and status still to be sent.
 */
async function* requestsOf(
  c: grpc.ServerReadableStream<object, object> | grpc.ServerDuplexStream<object, object>,
): AsyncIterable<object> {
  for await (const m of c.iterator({ destroyOnReturn: false })) {
    if (m instanceof MalformedMessage) throw malformed(m);
    yield m as object;
  }
  // A reset stream also ends as if half-closed in grpc-js; refuse to call that
  // complete when the reset is already known. (A Node grpc-js client that
  // cancels sends END_STREAM before RST_STREAM, which no server can tell from a
  // finished stream: see docs/architecture.md "Cancelled client streams".)
  if (resetByClient(c)) throw new ConnectError("the call was cancelled by the client", Code.Canceled);
}

/**
 * True when the call was cancelled, or its HTTP/2 stream was reset (read off
 * grpc-js's call internals, which carry no public flag for it yet).
 */
function resetByClient(
  c: grpc.ServerReadableStream<object, object> | grpc.ServerDuplexStream<object, object>,
): boolean {
  if (c.cancelled) return true;
  const stream = (c as unknown as { call?: { stream?: { rstCode?: number } } }).call?.stream;
  return stream?.rstCode !== undefined && stream.rstCode !== 0;
}

function malformed(m: MalformedMessage): ConnectError {
  return new ConnectError(`the request message is malformed: ${m.reason}`, Code.InvalidArgument);
}

async function* rejecting(err: Error): AsyncIterable<object> {
  throw err;
}

/** Writes a handler's messages with backpressure; stops (and ends the generator) on cancel. */
async function stream(
  c: grpc.ServerWritableStream<object, object> | grpc.ServerDuplexStream<object, object>,
  ctx: GrpcCallContext,
  messages: AsyncIterable<object>,
  options: MountOptions,
): Promise<void> {
  const { observer } = options;
  const started = observer === undefined ? 0 : performance.now();
  try {
    for await (const message of messages) {
      if (ctx.cancelled) break; // leaving the loop returns the generator: its finally blocks run
      ctx.flushHeader();
      if (!c.write(message)) await drained(c, ctx);
    }
    if (ctx.cancelled) {
      observer?.(ctx.method, Code.Canceled, started, ctx);
      return;
    }
    ctx.flushHeader();
    c.end(ctx.trailer);
    observer?.(ctx.method, 0, started, ctx);
  } catch (err) {
    fail(ctx, err, started, (status) => c.emit("error", status), options);
  }
}

function drained(c: NodeJS.EventEmitter, ctx: GrpcCallContext): Promise<void> {
  if (ctx.cancelled) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      c.off("drain", done);
      c.off("cancelled", done);
      resolve();
    };
    c.on("drain", done);
    c.on("cancelled", done);
  });
}

function fail(
  ctx: GrpcCallContext,
  err: unknown,
  started: number,
  send: (status: Partial<grpc.StatusObject>) => void,
  options: MountOptions,
): void {
  const error = toWireError(err, ctx.cancelled ? ctx.signal : undefined, options.toServiceError);
  options.observer?.(ctx.method, error.code, started, ctx, error);
  if (ctx.cancelled) return; // the client is gone; grpc-js already ended the call
  const metadata = ctx.trailer ?? new grpc.Metadata();
  error.metadata.forEach((value, name) => metadata.add(name, value));
  ctx.flushHeader();
  send({ code: error.code as number as grpc.status, details: error.rawMessage, metadata });
}
