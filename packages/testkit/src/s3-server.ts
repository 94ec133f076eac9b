import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { patchS3rverPutAcknowledgement } from "./s3rver-put-ack.js";

/** Options of `startS3Server`. */
export interface S3ServerOptions {
  /** Buckets that exist from the start (3–63 characters each). Default `["default"]`. */
  readonly buckets?: readonly string[];
}

/** A real S3 HTTP server (s3rver) on loopback, with its data in a temp directory. */
export interface S3Server {
  /** "http://127.0.0.1:<port>": what an S3 client takes as its endpoint (path-style). */
  readonly endpoint: string;
  readonly port: number;
  /** Where s3rver keeps buckets and objects; removed by `close()`. */
  readonly directory: string;
  /** s3rver's fixed access key. */
  readonly accessKeyId: string;
  /** s3rver's fixed secret key. */
  readonly secretAccessKey: string;
  /** Stops the server, drops its connections and removes its directory. */
  close(): Promise<void>;
}

/** The part of s3rver 3.x that is used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  vhostBuckets: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

const require = createRequire(import.meta.url);

/**
 * Starts s3rver in this process on 127.0.0.1 and a free port, with the given
 * buckets. Tests and the dev stack use it as the object storage; production
 * points at S3, MinIO, Ceph, ….
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  patchS3rverPutAcknowledgement();
  const buckets = options.buckets ?? ["default"];
  for (const name of buckets) {
    // s3rver answers InvalidBucketName for these only when the bucket is used.
    if (name.length < 3 || name.length > 63) throw new RangeError(`bucket name "${name}" must have 3–63 characters`);
  }
  const S3rver = require("s3rver") as S3rverConstructor;
  const directory = await mkdtemp(join(tmpdir(), "breakwater-s3-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    // Path-style only: a host name must never be taken for a bucket.
    vhostBuckets: false,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    directory,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    close() {
      closed ??= (async () => {
        const done = server.close();
        // close() waits for open connections; a test server drops them.
        server.httpServer?.closeAllConnections();
        await done;
        await rm(directory, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
