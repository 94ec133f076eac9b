import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";

/** The part of s3rver 3.x (CommonJS, untyped) that the dev stack uses. */
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string; configs: [] }[];
}) => S3rverInstance;

/** Options of `startEmbeddedS3`. */
export interface EmbeddedS3Options {
  /** Address to bind; loopback, since s3rver's keys are public. */
  readonly host: string;
  readonly port: number;
  /** Objects are files under this folder; it survives restarts. */
  readonly directory: string;
  /** Created at start when missing (s3rver: 3–63 characters). */
  readonly bucket: string;
}

/** A running s3rver. */
export interface EmbeddedS3 {
  /** e.g. http://127.0.0.1:9000 */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts s3rver in this process: a real S3 HTTP server (signature checks,
 * XML errors) keeping objects on disk, with the bucket created. Its keys are
 * the fixed S3RVER/S3RVER.
 */
export async function startEmbeddedS3(options: EmbeddedS3Options): Promise<EmbeddedS3> {
  await mkdir(options.directory, { recursive: true });
  // s3rver is a root devDependency, resolved from the workspace's node_modules.
  const S3rver = createRequire(import.meta.url)("s3rver") as S3rverConstructor;
  const server = new S3rver({
    address: options.host,
    port: options.port,
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  const address = await server.run();
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://${options.host}:${address.port}`,
    close: () => (closed ??= server.close()),
  };
}
