/**
 * The cache suite's baseline in its own process: `node dist/bare-cache-main.js
 * --etag=<1k etag>,<256k etag> --modified=<unix seconds>` serves
 * breakwater.cache.v1.CacheService/GetObject of the bench objects from memory
 * on a bare grpc.Server (servers/bare-cache-server.ts) and announces its port.
 */
import * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition } from "@breakwater/server-kit";
import { cacheV1 } from "@breakwater/proto";
import { announceReady } from "./child-server.js";
import { bareCacheHandlers, benchBody, benchObjects } from "./servers/bare-cache-server.js";

const arg = (name: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? "";
const etags = arg("etag").split(",");
const modified = BigInt(arg("modified") || "0");

// The kit's grpc-js options (service-server.ts), so that only the code differs.
const server = new grpc.Server({
  "grpc.max_receive_message_length": 8 * 1024 * 1024,
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_permit_without_calls": 1,
});
server.addService(
  grpcServiceDefinition(cacheV1.CacheService, "server"),
  bareCacheHandlers(
    benchObjects.map((o, i) => ({
      bucket: "default",
      key: o.key,
      body: benchBody(o.size),
      contentType: "application/octet-stream",
      etag: etags[i] ?? "",
      lastModifiedSeconds: modified,
    })),
  ),
);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
    err ? reject(err) : resolve(p),
  ),
);
announceReady(port);
