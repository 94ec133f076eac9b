import * as grpc from "@grpc/grpc-js";
import { context, trace } from "@opentelemetry/api";
import { endRpcSpan, rpcSpanShape, startRpcServerSpan, type RequestHeaders } from "@breakwater/tracing";
import type { MountOptions } from "./grpc-mount.js";

type AnyServerCall = { readonly metadata: grpc.Metadata };

/**
 * A grpc-js handler that runs in a server span of its own, child of the
 * caller's `traceparent`: the handler (and what it logs and calls) runs in
 * the span's context, and the span ends with the call's status, when the
 * observer is told of it. The observer runs in the handler's async context,
 * where the active span is this call's.
 */
export function tracedHandler(
  path: string,
  makeHandler: (options: MountOptions) => grpc.UntypedHandleCall,
  options: MountOptions,
): grpc.UntypedHandleCall {
  const shape = rpcSpanShape(path);
  const { observer } = options;
  const handler = makeHandler({
    ...options,
    observer: (method, code, startedAt, ctx, error) => {
      observer?.(method, code, startedAt, ctx, error); // logged inside the span: the line carries its trace id
      const span = trace.getActiveSpan();
      if (span !== undefined) endRpcSpan(span, code, error?.rawMessage);
    },
  }) as (call: AnyServerCall, callback?: unknown) => void;
  return ((call: AnyServerCall, callback?: unknown) => {
    const traced = startRpcServerSpan(shape, metadataHeaders(call.metadata));
    if (traced === undefined) handler(call, callback);
    else context.with(traced.context, handler, undefined, call, callback);
  }) as grpc.UntypedHandleCall;
}

/** A call's request metadata as the propagator reads it. */
function metadataHeaders(metadata: grpc.Metadata): RequestHeaders {
  return {
    requestHeader: (name) => {
      const v = metadata.get(name)[0];
      return v === undefined ? undefined : typeof v === "string" ? v : v.toString("utf8");
    },
  };
}
