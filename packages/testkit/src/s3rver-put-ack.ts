import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type { Readable } from "node:stream";

/** The part of s3rver's FilesystemStore (3.7.1) that the patch touches. */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: {
    bucket: string;
    key: string;
    metadata: unknown;
    content: Buffer | Readable;
  }): Promise<{ size: number; md5: string }>;
}

let patched = false;

/**
 * s3rver 3.7.1 acknowledges a PutObject when its hashing Transform finishes,
 * not when the file write does (`lib/stores/filesystem.js` putObject resolves
 * on the Transform's 'finish' and never waits for the write stream), so a GET
 * right after an acknowledged PUT can read the file still empty: observed here
 * as a 200 with Content-Length 0 and the new ETag, about once in a few hundred
 * PUT-then-GET rounds, which the cache-store then caches. Real S3 never
 * acknowledges before the object is readable. This makes the emulator wait for
 * the write, so that tests and benchmarks measure breakwater, not the
 * emulator's race. startS3Server applies it; idempotent; affects s3rver
 * instances in this process only.
 */
export function patchS3rverPutAcknowledgement(): void {
  if (patched) return;
  patched = true;
  const require = createRequire(import.meta.url);
  const Store = require("s3rver/lib/stores/filesystem") as { prototype: FilesystemStore };
  Store.prototype.putObject = async function putObject(this: FilesystemStore, object) {
    const path = this.getResourcePath(object.bucket, object.key, "object");
    await mkdir(dirname(path), { recursive: true });
    const hash = createHash("md5");
    let size = 0;
    await new Promise<void>((resolve, reject) => {
      const file = createWriteStream(path);
      file.on("error", reject);
      // 'close': the descriptor is closed, every byte written.
      file.on("close", () => resolve());
      if (Buffer.isBuffer(object.content)) {
        hash.update(object.content);
        size = object.content.length;
        file.end(object.content);
        return;
      }
      object.content.on("error", (err) => {
        file.destroy();
        reject(err);
      });
      object.content.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
      });
      object.content.pipe(file);
    });
    const md5 = hash.digest("hex");
    await this.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size, md5 };
  };
}
