/** Options of `createS3Storage`. */
export interface S3StorageOptions {
  /**
   * The store's origin, e.g. "http://127.0.0.1:9000" or "https://s3.eu-west-1.amazonaws.com". Requests are path-style.
   */
  readonly endpoint: string;
  /** Signing region. Most S3-compatible stores take any value. Default "us-east-1". */
  readonly region?: string | undefined;
  /** Static credentials (S3_ACCESS_KEY / S3_SECRET_KEY). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * Bounds a request until its response headers arrive, and how long a socket
   * may stay silent while a body streams. The caller's policy needs no timer of
   * its own for this. Default 30 000.
   */
  readonly requestTimeoutMs?: number | undefined;
  /** Bounds TCP connection setup. Default 5 000. */
  readonly connectionTimeoutMs?: number | undefined;
  /** Keep-alive sockets per store origin; requests beyond wait for one. Default 64. */
  readonly maxSockets?: number | undefined;
  /** The SDK's own attempts per call. Default 1: retries belong to the caller's policy (and its breaker). */
  readonly maxAttempts?: number | undefined;
  /** Bodies up to this size go as one PutObject (buffered); larger ones as a multipart upload. Default 8 MiB. */
  readonly multipartThresholdBytes?: number | undefined;
  /** Part size of a multipart upload (S3 minimum 5 MiB). Default 8 MiB. */
  readonly partSizeBytes?: number | undefined;
  /** Parts of one upload in flight at once; memory per upload is about (queueSize + 1) × partSize. Default 2. */
  readonly queueSize?: number | undefined;
  /** PEM CA bundle trusted for an https endpoint besides the system's roots (S3_CA_FILE: MinIO with a private CA). */
  readonly caCertificate?: Buffer | string | undefined;
  /**
   * Adds headers to every request sent to the store, before it is signed: the
   * caller's trace context (`traceparent`), so a store that traces, or its
   * access log, joins the request's trace.
   */
  readonly addRequestHeaders?: ((headers: Record<string, string>) => void) | undefined;
}

/** S3StorageOptions with every default filled in and checked. */
export interface ResolvedS3Options {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly requestTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly maxSockets: number;
  readonly maxAttempts: number;
  readonly multipartThresholdBytes: number;
  readonly partSizeBytes: number;
  readonly queueSize: number;
  readonly caCertificate: Buffer | string | undefined;
  readonly addRequestHeaders: ((headers: Record<string, string>) => void) | undefined;
}

const MiB = 1024 * 1024;
/** S3's smallest part (all but the last). */
const minPartSize = 5 * MiB;

/** Fills in defaults; a bad value is a RangeError that names it. */
export function resolveS3Options(options: S3StorageOptions): ResolvedS3Options {
  let url: URL;
  try {
    url = new URL(options.endpoint);
  } catch {
    throw new RangeError(`S3 endpoint must be a URL, got "${options.endpoint}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RangeError(`S3 endpoint must be http: or https:, got "${options.endpoint}"`);
  }
  const resolved: ResolvedS3Options = {
    endpoint: options.endpoint.replace(/\/+$/, ""),
    region: options.region ?? "us-east-1",
    credentials: options.credentials,
    requestTimeoutMs: positive("requestTimeoutMs", options.requestTimeoutMs, 30_000),
    connectionTimeoutMs: positive("connectionTimeoutMs", options.connectionTimeoutMs, 5_000),
    maxSockets: positive("maxSockets", options.maxSockets, 64),
    maxAttempts: positive("maxAttempts", options.maxAttempts, 1),
    multipartThresholdBytes: positive("multipartThresholdBytes", options.multipartThresholdBytes, 8 * MiB),
    partSizeBytes: positive("partSizeBytes", options.partSizeBytes, 8 * MiB),
    queueSize: positive("queueSize", options.queueSize, 2),
    caCertificate: options.caCertificate,
    addRequestHeaders: options.addRequestHeaders,
  };
  if (resolved.partSizeBytes < minPartSize) {
    throw new RangeError(
      `partSizeBytes must be at least ${minPartSize} (S3's minimum part), got ${resolved.partSizeBytes}`,
    );
  }
  return Object.freeze(resolved);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
