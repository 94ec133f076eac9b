import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CallContext } from "./call-context.js";
import { commonNameOf } from "./peer-identity.js";

type AnyServerCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>
  | grpc.ServerReadableStream<unknown, unknown>
  | grpc.ServerDuplexStream<unknown, unknown>;

/**
 * CallContext over a grpc-js server call. Everything is made on first use: most
 * calls never touch the signal, headers or trailers, and a per-call
 * AbortController and Metadata are a measurable part of a unary call's cost.
 */
export class GrpcCallContext implements CallContext {
  #controller: AbortController | undefined;
  #cancelled = false;
  #header: grpc.Metadata | undefined;
  #headerSent = false;
  trailer: grpc.Metadata | undefined;

  constructor(
    readonly method: string,
    private readonly call: AnyServerCall,
  ) {
    (call as NodeJS.EventEmitter).once("cancelled", () => this.cancel());
  }

  /** True once the client cancelled or the deadline passed. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#cancelled) this.#controller.abort(this.cancelReason());
    }
    return this.#controller.signal;
  }

  get deadline(): number | undefined {
    const d = this.call.getDeadline();
    const ms = d instanceof Date ? d.getTime() : d;
    return Number.isFinite(ms) ? ms : undefined;
  }

  requestHeader(name: string): string | undefined {
    const v = this.call.metadata.get(name)[0];
    return v === undefined ? undefined : typeof v === "string" ? v : v.toString("utf8");
  }

  peerName(): string | undefined {
    // grpc-js 1.14 answers a peer certificate only when the connection's socket is `authorized` (verified).
    return commonNameOf(this.call.getAuthContext().sslPeerCertificate);
  }

  setResponseHeader(name: string, value: string): void {
    (this.#header ??= new grpc.Metadata()).add(name, value);
  }

  setResponseTrailer(name: string, value: string): void {
    (this.trailer ??= new grpc.Metadata()).add(name, value);
  }

  /** Sends response headers if any were set; before the first message or the status. */
  flushHeader(): void {
    if (this.#header !== undefined && !this.#headerSent) {
      this.#headerSent = true;
      this.call.sendMetadata(this.#header);
    }
  }

  private cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#controller?.abort(this.cancelReason());
  }

  private cancelReason(): ConnectError {
    const deadline = this.deadline;
    return deadline !== undefined && Date.now() >= deadline
      ? new ConnectError("the deadline was exceeded", Code.DeadlineExceeded)
      : new ConnectError("the call was cancelled by the client", Code.Canceled);
  }
}
