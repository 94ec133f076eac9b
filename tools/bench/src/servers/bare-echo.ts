import * as grpc from "@grpc/grpc-js";

/** The EchoService request fields the baseline reads (protobuf-es messages from the shared codec). */
interface EchoRequest {
  readonly payload: Uint8Array;
  readonly failCode: number;
  readonly failMessage: string;
  readonly delayMs: number;
}

interface EchoStreamRequest {
  readonly payload: Uint8Array;
  readonly count: number;
  readonly intervalMs: number;
}

/**
 * The baseline: EchoService's Echo and EchoStream written by hand against
 * grpc-js, with the branches of the kit's echo handlers (failure code, echo
 * tag, backpressure) but none of the kit's machinery (call context, promise
 * and async-generator adapters, observer). Delays are not benchmarked and
 * answer UNIMPLEMENTED; Collect and Chat are left to grpc-js's default
 * (UNIMPLEMENTED).
 */
export function bareEchoHandlers(): grpc.UntypedServiceImplementation {
  return {
    echo(call: grpc.ServerUnaryCall<EchoRequest, object>, callback: grpc.sendUnaryData<object>) {
      const req = call.request;
      if (req.delayMs > 0) return callback({ code: grpc.status.UNIMPLEMENTED, details: "the baseline does not delay" });
      if (req.failCode !== 0) {
        const metadata = new grpc.Metadata();
        metadata.set("retry-after-ms", "1500");
        return callback({ code: req.failCode, details: req.failMessage || "failed on request", metadata });
      }
      const tag = call.metadata.get("x-echo-tag")[0];
      let trailer: grpc.Metadata | undefined;
      if (tag !== undefined) {
        trailer = new grpc.Metadata();
        trailer.set("x-echo-tag", tag.toString());
      }
      callback(null, { payload: req.payload }, trailer);
    },
    echoStream(call: grpc.ServerWritableStream<EchoStreamRequest, object>) {
      const req = call.request;
      if (req.intervalMs > 0) {
        call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: "the baseline does not pause" });
        return;
      }
      let index = 0;
      const writeSome = (): void => {
        while (index < req.count) {
          if (call.cancelled) return;
          const more = call.write({ payload: req.payload, index: index++ });
          if (!more && index < req.count) {
            call.once("drain", writeSome);
            return;
          }
        }
        call.end();
      };
      writeSome();
    },
  };
}
