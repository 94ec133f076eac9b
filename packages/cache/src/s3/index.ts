/** Object storage on S3-compatible stores: the cache's storage port on @aws-sdk/client-s3. */
export { createS3Storage, type S3Storage } from "./s3-storage.js";
/** Options of `createS3Storage`: endpoint, credentials, timeouts, socket pool, multipart sizes. */
export type { S3StorageOptions } from "./s3-options.js";
