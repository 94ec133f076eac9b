/**
 * s3rver in its own process: `node dist/s3-server-main.js` starts testkit's
 * S3 server (bucket "default", s3rver's fixed keys `S3RVER`/`S3RVER`) on a
 * free loopback port and announces it like echo-server.js does. The
 * fleet-convergence suite runs storage here rather than in the bench
 * process, so that s3rver's work does not hold up the bench's own event
 * loop: the proxy that answers the 503s and the recorder that timestamps
 * them run there, and real storage is another machine anyway.
 */
import { rmSync } from "node:fs";
import { startS3Server } from "@breakwater/testkit";
import { announceReady } from "./child-server.js";

const s3 = await startS3Server({ buckets: ["default"] });
// announceReady exits on SIGTERM and on the bench's disconnect
// without waiting for close(): drop the data directory then.
process.once("exit", () => rmSync(s3.directory, { recursive: true, force: true }));
announceReady(s3.port);
