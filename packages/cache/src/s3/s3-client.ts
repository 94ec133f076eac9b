import { rootCertificates } from "node:tls";
import { S3Client } from "@aws-sdk/client-s3";
import type { ResolvedS3Options } from "./s3-options.js";
import { sdkHttpStatus } from "./s3-error.js";

/**
 * Builds the S3 client every call of the adapter goes through: path-style,
 * checksums only when an operation requires them, bounded time, a bounded
 * keep-alive pool, and no SDK retries of its own.
 */
export function createS3Client(options: ResolvedS3Options): S3Client {
  const agent = { keepAlive: true, maxSockets: options.maxSockets };
  const client = new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    credentials: options.credentials,
    // Bucket in the path: S3-compatible stores rarely have wildcard DNS.
    forcePathStyle: true,
    // With the default ("WHEN_SUPPORTED") a streamed PutObject carries an
    // aws-chunked body with a CRC trailer, which S3-compatible stores such as
    // s3rver store verbatim inside the object (design.md, Known traps).
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: options.maxAttempts,
    // Options rather than a NodeHttpHandler instance: the SDK builds the
    // handler (and its agents) from them, and destroys both in client.destroy().
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs,
      // Time until the response headers; without the flag it only logs a warning.
      requestTimeout: options.requestTimeoutMs,
      throwOnRequestTimeout: true,
      // Idle time on the socket, also while a body streams.
      socketTimeout: options.requestTimeoutMs,
      httpAgent: agent,
      // A private CA is trusted next to the system's roots (an agent's `ca` replaces them).
      httpsAgent:
        options.caCertificate === undefined
          ? agent
          : { ...agent, ca: [...rootCertificates, options.caCertificate.toString()] },
    },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        // lib-storage's Upload aborts a failed multipart upload and, when that
        // abort fails, throws the abort's error instead of the failure. s3rver
        // answers AbortMultipartUpload with 405 (and an unknown upload is 404):
        // nothing was completed, so no object exists and there is nothing to
        // clean up. Real S3 and MinIO do abort.
        const status = sdkHttpStatus(err);
        if (
          context.commandName === "AbortMultipartUploadCommand" &&
          (status === 405 || status === 404 || status === 501)
        ) {
          return { output: { $metadata: { httpStatusCode: status } } } as Awaited<ReturnType<typeof next>>;
        }
        throw err;
      }
    },
    { step: "initialize", name: "breakwaterTolerateAbortMultipart" },
  );
  const addRequestHeaders = options.addRequestHeaders;
  if (addRequestHeaders !== undefined) {
    // At "build", where the HTTP request exists and is not yet signed (signing is at "finalizeRequest").
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> } | undefined;
        if (request?.headers !== undefined) addRequestHeaders(request.headers);
        return next(args);
      },
      { step: "build", name: "breakwaterRequestHeaders" },
    );
  }
  return client;
}
