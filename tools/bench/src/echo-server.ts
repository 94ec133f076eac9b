/**
 * A benchmark server in its own process: `node dist/echo-server.js
 * --kind=kit|mount|bare` serves breakwater.testing.v1.EchoService on a free
 * loopback port and announces it (stdout line `{"port":N}`, and over IPC when
 * the bench started it). Kinds:
 * - kit:   createServiceServer — the full service server (metrics observer,
 *          reflection, health, HTTP/1.1 port), as the apps run.
 * - mount: a bare grpc.Server with only mountOnGrpc(echoService()): the mount's own cost.
 * - bare:  a bare grpc.Server with the handlers written against grpc-js (the baseline).
 */
import * as grpc from "@grpc/grpc-js";
import { createLogger, createServiceServer, grpcServiceDefinition, mountOnGrpc } from "@breakwater/server-kit";
import { echoService } from "@breakwater/server-kit/testing";
import { announceReady } from "./child-server.js";
import { bareEchoHandlers } from "./servers/bare-echo.js";

const kinds = ["kit", "mount", "bare"] as const;
type Kind = (typeof kinds)[number];

// The kit's grpc-js options (service-server.ts), so that only the code differs.
const serverOptions: grpc.ServerOptions = {
  "grpc.max_receive_message_length": 8 * 1024 * 1024,
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_permit_without_calls": 1,
};

function bind(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

async function listen(kind: Kind): Promise<number> {
  switch (kind) {
    case "kit": {
      // Level info, as in production: OK calls log at debug, so the observer only counts and times them.
      const logger = createLogger({ service: "bench-echo", level: "info" });
      const server = createServiceServer({
        name: "bench-echo",
        services: [echoService()],
        logger,
        grpcPort: 0,
        httpPort: 0,
        host: "127.0.0.1",
      });
      return (await server.listen()).grpcPort;
    }
    case "mount": {
      const server = new grpc.Server(serverOptions);
      mountOnGrpc(server, echoService());
      return bind(server);
    }
    case "bare": {
      const server = new grpc.Server(serverOptions);
      // The same codec as the mount's: the definition for testingV1.EchoService, server side.
      server.addService(grpcServiceDefinition(echoService().desc, "server"), bareEchoHandlers());
      return bind(server);
    }
  }
}

const arg = process.argv.slice(2).find((a) => a.startsWith("--kind="));
const kind = arg?.slice("--kind=".length);
if (!kinds.includes(kind as Kind)) {
  process.stderr.write(`usage: echo-server.js --kind=${kinds.join("|")}\n`);
  process.exit(2);
}
announceReady(await listen(kind as Kind));
