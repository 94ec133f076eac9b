import * as grpc from "@grpc/grpc-js";
import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { grpcServiceDefinition } from "./grpc-codec.js";
import { channelCredentialsFor } from "./client-credentials.js";
import { presentedAuthorization } from "./auth/caller-token.js";
import { endRpcSpan, rpcSpanShape, startRpcClientSpan } from "@breakwater/tracing";

/** Per-call options of a grpc-js client call. */
export interface GrpcCallOptions {
  /** Cancels the call. */
  readonly signal?: AbortSignal | undefined;
  /** Time budget in ms, sent as the gRPC deadline (the transport bounds time, no timer of ours). */
  readonly timeoutMs?: number | undefined;
  /**
   * Streams only: the first message (or the end) must come within this many ms, else the call is
   * cancelled and fails DEADLINE_EXCEEDED. Bounds the wait for an answer without bounding a long body,
   * which a gRPC deadline would.
   */
  readonly firstMessageTimeoutMs?: number | undefined;
  /** Request metadata. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Receives the response trailers of a successful call. */
  readonly onTrailers?: ((trailers: grpc.Metadata) => void) | undefined;
}

type In<M extends DescMethod> = MessageInitShape<M["input"]>;
type Out<M extends DescMethod> = MessageShape<M["output"]>;

/** One client method, by the method's kind. Errors reject as ConnectError (code, message, trailers as metadata). */
export type GrpcClientMethod<M extends DescMethod> = M extends { methodKind: "unary" }
  ? (request: In<M>, options?: GrpcCallOptions) => Promise<Out<M>>
  : M extends { methodKind: "server_streaming" }
    ? (request: In<M>, options?: GrpcCallOptions) => AsyncIterable<Out<M>>
    : M extends { methodKind: "client_streaming" }
      ? (requests: AsyncIterable<In<M>>, options?: GrpcCallOptions) => Promise<Out<M>>
      : M extends { methodKind: "bidi_streaming" }
        ? (requests: AsyncIterable<In<M>>, options?: GrpcCallOptions) => AsyncIterable<Out<M>>
        : never;

/** A typed grpc-js client of a protobuf-es service. */
export type GrpcClient<S extends DescService> = { [K in keyof S["method"]]: GrpcClientMethod<S["method"][K]> } & {
  /** The underlying channel, for readiness checks. */
  readonly channel: grpc.Client;
  close(): void;
};

/** "http://host:port" or "host:port" → "host:port". */
export function grpcTarget(url: string): string {
  return url.replace(/^[a-z]+:\/\//i, "").replace(/\/+$/, "");
}

/**
 * A grpc-js client typed by a protobuf-es descriptor: grpc-js is about twice
 * connect's client throughput here, so request-path clients use it
 * (design.md "Stack"). `https://` dials TLS, `http://` plaintext, a bare
 * `host:port` TLS when the process has TLS configured (see `channelCredentialsFor`).
 */
export function createGrpcClient<S extends DescService>(
  desc: S,
  address: string,
  channelOptions: grpc.ChannelOptions = {},
  credentials: grpc.ChannelCredentials = channelCredentialsFor(address),
): GrpcClient<S> {
  const client = new grpc.Client(grpcTarget(address), credentials, channelOptions);
  const definition = grpcServiceDefinition(desc);
  const out: Record<string, unknown> = {
    channel: client,
    close: () => client.close(),
  };
  for (const method of desc.methods) {
    const d = definition[method.localName]!;
    const ser = d.requestSerialize as (v: object) => Buffer;
    const de = d.responseDeserialize as (b: Buffer) => object;
    // Each call carries the caller's trace context (`traceparent`) in its metadata; inside a
    // traced request it also gets a client span, ended with the call's status.
    const shape = rpcSpanShape(d.path);
    const traced = <C extends grpc.Call>(md: grpc.Metadata, start: (md: grpc.Metadata) => C): C => {
      const span = startRpcClientSpan(shape, md);
      const call = start(md);
      if (span !== undefined) call.on("status", (s: grpc.StatusObject) => endRpcSpan(span, s.code, s.details));
      return call;
    };
    switch (method.methodKind) {
      case "unary":
        out[method.localName] = (req: object, o?: GrpcCallOptions) =>
          new Promise((resolve, reject) => {
            const call = traced(metadataOf(o), (md) =>
              client.makeUnaryRequest(d.path, ser, de, req, md, callOptionsOf(o), (err, res) =>
                err ? reject(toConnectError(err)) : resolve(res),
              ),
            );
            watch(call, o);
          });
        break;
      case "server_streaming":
        out[method.localName] = (req: object, o?: GrpcCallOptions) =>
          readAll(
            traced(metadataOf(o), (md) => client.makeServerStreamRequest(d.path, ser, de, req, md, callOptionsOf(o))),
            o,
          );
        break;
      case "client_streaming":
        out[method.localName] = (reqs: AsyncIterable<object>, o?: GrpcCallOptions) =>
          new Promise((resolve, reject) => {
            const call = traced(metadataOf(o), (md) =>
              client.makeClientStreamRequest(d.path, ser, de, md, callOptionsOf(o), (err, res) =>
                err ? reject(toConnectError(err)) : resolve(res),
              ),
            );
            watch(call, o);
            void writeAll(call, reqs);
          });
        break;
      case "bidi_streaming":
        out[method.localName] = (reqs: AsyncIterable<object>, o?: GrpcCallOptions) => {
          const call = traced(metadataOf(o), (md) =>
            client.makeBidiStreamRequest(d.path, ser, de, md, callOptionsOf(o)),
          );
          void writeAll(call, reqs);
          return readAll(call, o);
        };
        break;
    }
  }
  return out as GrpcClient<S>;
}

function metadataOf(o?: GrpcCallOptions): grpc.Metadata {
  const md = new grpc.Metadata();
  // This process's BW_TOKEN (see `presentToken`), unless the call names its own.
  const authorization = presentedAuthorization();
  if (authorization !== undefined) md.set("authorization", authorization);
  if (o?.headers) for (const [k, v] of Object.entries(o.headers)) md.set(k, v);
  return md;
}

function callOptionsOf(o?: GrpcCallOptions): grpc.CallOptions {
  return o?.timeoutMs === undefined ? {} : { deadline: Date.now() + o.timeoutMs };
}

/** Cancels the call when the signal aborts; passes trailers on. */
function watch(call: grpc.Call, o?: GrpcCallOptions): void {
  if (o?.onTrailers)
    call.on("status", (s: grpc.StatusObject) => s.code === grpc.status.OK && o.onTrailers!(s.metadata));
  const signal = o?.signal;
  if (signal === undefined) return;
  if (signal.aborted) return call.cancel();
  const onAbort = (): void => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  call.on("status", () => signal.removeEventListener("abort", onAbort));
}

/**
 * Reads a call's messages with backpressure. Not `for await` over the call:
 * a grpc-js duplex call's async iterator never ends (it waits for a 'close'
 * that a finished bidi call does not emit).
 */
async function* readAll(
  call: grpc.ClientReadableStream<object> | grpc.ClientDuplexStream<object, object>,
  o?: GrpcCallOptions,
): AsyncIterable<never> {
  watch(call, o);
  const queue: object[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const firstMessageMs = o?.firstMessageTimeoutMs;
  const noAnswer =
    firstMessageMs === undefined
      ? undefined
      : setTimeout(() => {
          failure ??= new ConnectError(`no answer within ${firstMessageMs} ms`, Code.DeadlineExceeded);
          call.cancel();
          wake?.();
        }, firstMessageMs);
  const answered = (): void => clearTimeout(noAnswer);
  call.once("data", answered);
  call.once("status", answered);
  call.on("data", (m: object) => {
    queue.push(m);
    if (queue.length >= 32) call.pause();
    wake?.();
  });
  call.on("end", () => {
    ended = true;
    wake?.();
  });
  call.on("error", (err: unknown) => {
    failure ??= err;
    wake?.();
  });
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        if (queue.length < 8) call.resume();
        yield next as never;
      } else if (failure !== undefined) throw toConnectError(failure);
      else if (ended) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    answered();
    if (!ended && failure === undefined) call.cancel(); // the consumer stopped early
  }
}

async function writeAll(
  call: grpc.ClientWritableStream<object> | grpc.ClientDuplexStream<object, object>,
  reqs: AsyncIterable<object>,
): Promise<void> {
  try {
    for await (const r of reqs) {
      if (!call.write(r))
        await new Promise<void>((resolve) => {
          const done = (): void => {
            call.off("drain", done);
            call.off("status", done);
            resolve();
          };
          call.on("drain", done);
          call.on("status", done);
        });
    }
    call.end();
  } catch (err) {
    // The request source failed: cancel rather than send a truncated stream as complete.
    call.cancel();
    void err;
  }
}

/** A grpc-js ServiceError (or anything) as a ConnectError with the trailers as metadata. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code === "number") {
    const headers = new Headers();
    const md = e.metadata?.getMap() ?? {};
    for (const [k, v] of Object.entries(md)) if (typeof v === "string") headers.set(k, v);
    return new ConnectError(e.details ?? e.message ?? "", e.code as number as Code, headers, undefined, err);
  }
  return new ConnectError(String((err as Error)?.message ?? err), Code.Unknown, undefined, undefined, err);
}
