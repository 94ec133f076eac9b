import { S3Client } from "@aws-sdk/client-s3";
import type { S3Server } from "./s3-server.js";

/**
 * An S3 client straight at the test's S3 server, past every proxy and
 * cache-store: to seed objects or check what storage really holds.
 */
export function directS3Client(s3: Pick<S3Server, "endpoint" | "accessKeyId" | "secretAccessKey">): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // Else the SDK may frame the body as aws-chunked, which s3rver stores verbatim (design.md, Known traps).
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
