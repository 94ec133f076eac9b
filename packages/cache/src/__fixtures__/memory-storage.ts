/**
 * An in-memory ObjectStorage for the cache core's unit tests: counts calls,
 * can be taken down, can hold reads at a gate (after they read the object, as
 * a slow download would) and tracks bodies left open.
 */
import { resolveRange } from "../byte-range.js";
import { ifNoneMatchFails } from "../conditional.js";
import { CacheError } from "../errors.js";
import type { ObjectMeta, ObjectStorage, StorageGetOptions, StorageGetResult } from "../storage.js";

interface Stored {
  readonly meta: ObjectMeta;
  readonly bytes: Uint8Array;
}

export interface MemoryStorage extends ObjectStorage {
  readonly calls: { get: number; head: number; put: number; delete: number };
  /** Options of every get, in order. */
  readonly gets: StorageGetOptions[];
  /** Every call fails with CacheError "unavailable" while set. */
  down: boolean;
  /** Awaited by get after it read the object and before it answers. */
  gate: (() => Promise<void>) | undefined;
  /** Awaited by put before it stores. */
  putGate: (() => Promise<void>) | undefined;
  /** Size of the chunks bodies arrive in. */
  chunkSize: number;
  /** Bodies handed out and neither finished nor returned. */
  readonly openBodies: number;
  /** Stores an object directly (not through put). */
  seed(bucket: string, key: string, content: string | Uint8Array): ObjectMeta;
}

export function createMemoryStorage(): MemoryStorage {
  const objects = new Map<string, Stored>();
  let version = 0;
  let open = 0;
  const k = (bucket: string, key: string) => `${bucket}/${key}`;

  function write(
    bucket: string,
    key: string,
    bytes: Uint8Array,
    contentType = "application/octet-stream",
    metadata = {},
  ) {
    version++;
    const meta: ObjectMeta = {
      size: bytes.byteLength,
      contentType,
      etag: `"v${version}"`,
      lastModified: new Date(Date.UTC(2024, 0, 1) + version * 1000),
      metadata,
    };
    objects.set(k(bucket, key), { meta, bytes });
    return meta;
  }

  function check(signal?: AbortSignal) {
    if (signal?.aborted) throw new CacheError("cancelled", "aborted", { cause: signal.reason });
    if (storage.down) throw new CacheError("unavailable", "storage is down");
  }

  async function* stream(bytes: Uint8Array, size: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    open++;
    try {
      for (let i = 0; i < bytes.byteLength; i += size) {
        if (signal?.aborted) throw new CacheError("cancelled", "aborted");
        yield bytes.slice(i, i + size);
      }
    } finally {
      open--;
    }
  }

  const storage: MemoryStorage = {
    backend: "memory:test",
    calls: { get: 0, head: 0, put: 0, delete: 0 },
    gets: [],
    down: false,
    gate: undefined,
    putGate: undefined,
    chunkSize: 16 * 1024,
    get openBodies() {
      return open;
    },
    seed: (bucket, key, content) =>
      write(bucket, key, typeof content === "string" ? new TextEncoder().encode(content) : content),

    async get(bucket, key, options = {}): Promise<StorageGetResult> {
      storage.calls.get++;
      storage.gets.push(options);
      check(options.signal);
      const found = objects.get(k(bucket, key));
      await storage.gate?.();
      check(options.signal);
      if (found === undefined) throw new CacheError("not-found", "no such key");
      if (options.ifNoneMatch !== undefined && ifNoneMatchFails(options.ifNoneMatch, found.meta.etag)) {
        return { kind: "not-modified" };
      }
      if (options.range === undefined) {
        return { kind: "object", meta: found.meta, body: stream(found.bytes, storage.chunkSize, options.signal) };
      }
      const range = resolveRange(options.range, found.meta.size);
      const bytes = found.bytes.subarray(range.start, range.end + 1);
      return { kind: "object", meta: found.meta, range, body: stream(bytes, storage.chunkSize, options.signal) };
    },

    async head(bucket, key, options = {}) {
      storage.calls.head++;
      check(options.signal);
      const found = objects.get(k(bucket, key));
      if (found === undefined) throw new CacheError("not-found", "no such key");
      return found.meta;
    },

    async put(bucket, key, body, options = {}) {
      storage.calls.put++;
      check(options.signal);
      const parts: Uint8Array[] = [];
      for await (const chunk of body) parts.push(chunk);
      await storage.putGate?.();
      check(options.signal);
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      let offset = 0;
      for (const p of parts) {
        bytes.set(p, offset);
        offset += p.byteLength;
      }
      const meta = write(bucket, key, bytes, options.contentType, options.metadata);
      return { etag: meta.etag, size: meta.size };
    },

    async delete(bucket, key, options = {}) {
      storage.calls.delete++;
      check(options.signal);
      objects.delete(k(bucket, key));
    },
  };
  return storage;
}
