import type * as grpc from "@grpc/grpc-js";

type Bytes = Buffer;
const passBytes = (b: Bytes): Bytes => b;

/** The parts of a grpc-js method definition a raw call needs. */
export interface RawMethod {
  readonly path: string;
  readonly requestSerialize: unknown;
  readonly responseStream: boolean;
}

/**
 * One call of `method` over one of `clients` (by worker), for load: the
 * request is serialised once and responses are not parsed, so the load
 * generator (sharing the cores with the server) spends as little as it can.
 * A stream must deliver exactly `messages` messages; resolves with the count.
 */
export function rawCaller(
  clients: readonly grpc.Client[],
  method: RawMethod,
  request: object,
  messages: number,
): (worker: number) => Promise<number> {
  const bytes = (method.requestSerialize as (v: object) => Bytes)(request);
  const toBytes = (): Bytes => bytes;
  if (!method.responseStream) {
    return (worker) =>
      new Promise((resolve, reject) => {
        clients[worker % clients.length]!.makeUnaryRequest(method.path, toBytes, passBytes, bytes, (err) =>
          err ? reject(err) : resolve(1),
        );
      });
  }
  return (worker) =>
    new Promise((resolve, reject) => {
      let received = 0;
      const call = clients[worker % clients.length]!.makeServerStreamRequest(method.path, toBytes, passBytes, bytes);
      call.on("data", () => received++);
      call.on("error", reject);
      call.on("end", () =>
        received === messages ? resolve(received) : reject(new Error(`${received} of ${messages} messages arrived`)),
      );
    });
}
