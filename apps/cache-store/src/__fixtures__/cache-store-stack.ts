/**
 * The cache-store's integration tests run against real processes: s3rver
 * (in the test process) behind a counting proxy, and a built cache-store
 * (`apps/cache-store/dist/main.js`) whose S3_ENDPOINT is the proxy, called
 * through the typed grpc-js client. Build first (`npx nx run-many -t build`).
 */
import { createHash } from "node:crypto";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { cacheV1 } from "@breakwater/proto";
import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { createGrpcClient, type GrpcCallOptions, type GrpcClient } from "@breakwater/server-kit";
// Test support only: this directory is excluded from the app's build.
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  directS3Client,
  eventually,
  startCountingProxy,
  startS3Server,
  startServiceProcess,
  type CountingProxy,
  type S3Server,
  type ServiceProcess,
} from "@breakwater/testkit";

/** A typed grpc-js client of CacheService. */
export type CacheClient = GrpcClient<typeof cacheV1.CacheService>;

/** s3rver, the proxy in front of it, one cache-store process and its clients. */
export interface CacheStoreStack {
  readonly s3: S3Server;
  /** Counts (and breaks, on demand) what the cache-store sends to S3. */
  readonly proxy: CountingProxy;
  readonly process: ServiceProcess;
  /** A client made with the stack; more with `newClient()`. */
  readonly client: CacheClient;
  /** Another client on its own channel (its own HTTP/2 connection); closed with the stack. */
  newClient(): CacheClient;
  /** PutObject through the cache-store (the stack's client), then waits until s3rver serves the bytes (`settled`). */
  put(key: string, body: Uint8Array | string, header?: PutHeaderFields): Promise<cacheV1.PutObjectResponse>;
  /** Stores an object straight into s3rver, past the proxy and the cache-store. */
  seed(key: string, body: Uint8Array | string, bucket?: string): Promise<void>;
  /** An object's bytes straight from s3rver (undefined when missing). */
  stored(key: string, bucket?: string): Promise<Buffer | undefined>;
  /**
   * Waits until s3rver serves exactly these bytes. Unpatched, s3rver answers a
   * PutObject before its file is written; testkit's startS3Server patches that
   * (s3rver-put-ack.ts), and this check stays as a guard that what the tests
   * then check is the cache, not the emulator.
   */
  settled(key: string, body: Uint8Array, bucket?: string): Promise<void>;
  /** S3 GETs of one object seen by the proxy. */
  s3Gets(key: string, bucket?: string): number;
  /**
   * Closes the clients, stops the process with SIGTERM (answers its exit code), checks that
   * none of its storage connections outlived it, then stops the proxy and s3rver.
   */
  close(): Promise<number | string>;
}

/** Options of {@link startCacheStoreStack}. */
export interface CacheStoreStackOptions {
  /** Extra cache-store environment (CACHE_TTL, MAX_PUT_BYTES, ...). */
  readonly env?: Record<string, string>;
  /** Buckets in s3rver; default ["default"]. */
  readonly buckets?: readonly string[];
}

/** Starts s3rver, the counting proxy and a cache-store process pointed at the proxy. */
export async function startCacheStoreStack(options: CacheStoreStackOptions = {}): Promise<CacheStoreStack> {
  const s3 = await startS3Server({ buckets: options.buckets ?? ["default"] });
  const proxy = await startCountingProxy(s3.endpoint);
  let process: ServiceProcess;
  try {
    process = await startServiceProcess("cache-store", {
      env: {
        S3_ENDPOINT: proxy.url,
        S3_ACCESS_KEY: s3.accessKeyId,
        S3_SECRET_KEY: s3.secretAccessKey,
        CACHE_STORE_HOST: "127.0.0.1",
        ...options.env,
      },
    });
  } catch (err) {
    await proxy.close();
    await s3.close();
    throw err;
  }
  const clients: CacheClient[] = [];
  const newClient = (): CacheClient => {
    // A distinct channel per client: grpc-js would otherwise share one subchannel.
    const client = createGrpcClient(cacheV1.CacheService, process.grpcAddress, { "grpc.use_local_subchannel_pool": 1 });
    clients.push(client);
    return client;
  };
  const client = newClient();
  const direct = directS3Client(s3);
  const stored = async (key: string, bucket = "default"): Promise<Buffer | undefined> => {
    try {
      const out = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchKey") return undefined;
      throw err;
    }
  };
  const settled = async (key: string, body: Uint8Array, bucket = "default"): Promise<void> => {
    await eventually(async () => (await stored(key, bucket))?.equals(body) === true, {
      what: `s3rver serves the ${body.byteLength} bytes written to ${bucket}/${key}`,
    });
  };
  let closed: Promise<number | string> | undefined;
  return {
    s3,
    proxy,
    process,
    client,
    newClient,
    stored,
    settled,
    async put(key, body, header = {}) {
      const bytes = typeof body === "string" ? Buffer.from(body) : body;
      const answer = await put(client, key, bytes, header);
      await settled(key, bytes, header.bucket ?? "default");
      return answer;
    },
    async seed(key, body, bucket = "default") {
      const bytes = typeof body === "string" ? Buffer.from(body) : body;
      await direct.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
      await settled(key, bytes, bucket);
    },
    s3Gets: (key, bucket = "default") => proxy.count("GET", `/${bucket}/${encodeKey(key)}`),
    close() {
      closed ??= (async () => {
        for (const c of clients) c.close();
        direct.destroy();
        const code = await process.stop();
        // The process is gone, and with it every connection it had to storage.
        await eventually(() => proxy.openConnections === 0, { timeoutMs: 5_000 }).catch(() => undefined);
        const left = proxy.openConnections;
        await proxy.close();
        await s3.close();
        if (left > 0) throw new Error(`${left} connections to storage outlived the cache-store process`);
        return code;
      })();
      return closed;
    },
  };
}

/** An S3 key as it appears in a path-style URL. */
function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/** A GetObject answer read to its end. */
export interface ReadObject {
  /** The first message (info, cache status, content range). */
  readonly first: cacheV1.GetObjectResponse;
  readonly status: cacheV1.CacheStatus;
  readonly body: Buffer;
  readonly messages: number;
}

/** Reads a whole GetObject stream. */
export async function readObject(
  client: CacheClient,
  request: MessageInitShape<typeof cacheV1.GetObjectRequestSchema>,
  options?: GrpcCallOptions,
): Promise<ReadObject> {
  let first: cacheV1.GetObjectResponse | undefined;
  const chunks: Uint8Array[] = [];
  let messages = 0;
  for await (const m of client.getObject(request, options)) {
    first ??= m;
    messages++;
    chunks.push(m.chunk);
  }
  if (first === undefined) throw new Error("GetObject answered no message");
  return { first, status: first.cacheStatus, body: Buffer.concat(chunks), messages };
}

/** Reads `default/<key>` whole. */
export function get(client: CacheClient, key: string, bucket = "default"): Promise<ReadObject> {
  return readObject(client, { bucket, key });
}

/** PutObject header fields besides the key (bucket defaults to "default"). */
export interface PutHeaderFields {
  readonly bucket?: string;
  readonly contentType?: string;
  readonly metadata?: Record<string, string>;
  readonly contentLength?: bigint;
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
}

/** Stores a body through the cache-store's PutObject in chunks of 64 KiB. */
export async function put(
  client: CacheClient,
  key: string,
  body: Uint8Array | string,
  header: PutHeaderFields = {},
): Promise<cacheV1.PutObjectResponse> {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const head = create(cacheV1.PutObjectHeaderSchema, {
    bucket: "default",
    contentType: "application/octet-stream",
    ...header,
    key,
  });
  return client.putObject(putMessages(head, chunksOf(bytes)));
}

/** A PutObject request stream: the header, then the chunks. */
export async function* putMessages(
  header: cacheV1.PutObjectHeader,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<MessageInitShape<typeof cacheV1.PutObjectRequestSchema>> {
  yield { part: { case: "header", value: header } };
  for await (const chunk of chunks) yield { part: { case: "chunk", value: chunk } };
}

/** A body cut into chunks of at most `size` bytes (views, no copies). */
export function* chunksOf(bytes: Uint8Array, size = 64 * 1024): Generator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
}

/** The ConnectError a call failed with (fails the test when it succeeded). */
export async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("the call succeeded, a failure was expected");
}

/** A GetObject read to its end, or the error it failed with. */
export function getFailure(client: CacheClient, key: string, bucket = "default"): Promise<ConnectError> {
  return failure(get(client, key, bucket));
}

/** Hex SHA-256 of some bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
