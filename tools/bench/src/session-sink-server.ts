/**
 * The coordinator benchmark's baseline server in its own process: `node
 * dist/session-sink-server.js [--heartbeat-ms=N]` serves BreakerCoordinator's
 * Session (and the few ops RPCs the bench calls) written by hand against bare
 * grpc-js (`servers/session-sink.ts`) on a free loopback port, and announces
 * it like echo-server.js does.
 */
import * as grpc from "@grpc/grpc-js";
import { breakerV1 } from "@breakwater/proto";
import { grpcServiceDefinition } from "@breakwater/server-kit";
import { announceReady } from "./child-server.js";
import { sessionSinkHandlers } from "./servers/session-sink.js";

// The kit's grpc-js options (service-server.ts), as echo-server.ts uses them, so that only the code differs.
const serverOptions: grpc.ServerOptions = {
  "grpc.max_receive_message_length": 8 * 1024 * 1024,
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_permit_without_calls": 1,
};

const arg = process.argv.slice(2).find((a) => a.startsWith("--heartbeat-ms="));
const heartbeatMs = arg === undefined ? 1000 : Number(arg.slice("--heartbeat-ms=".length));
if (!(heartbeatMs > 0)) {
  process.stderr.write("usage: session-sink-server.js [--heartbeat-ms=N]\n");
  process.exit(2);
}
const server = new grpc.Server(serverOptions);
// The same codec as the coordinator's mount: the definition for breakerV1.BreakerCoordinator, server side.
server.addService(grpcServiceDefinition(breakerV1.BreakerCoordinator, "server"), sessionSinkHandlers(heartbeatMs));
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
    err ? reject(err) : resolve(p),
  ),
);
announceReady(port);
