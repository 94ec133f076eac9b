import { Histogram, type Registry } from "prom-client";
import { isCacheError, type ObjectStorage } from "@breakwater/cache";

/** Storage operations as the `operation` label names them. */
type Operation = "get" | "head" | "put" | "delete";

/**
 * Buckets in seconds: a cached-miss GET on loopback takes about a millisecond,
 * a multipart upload of a large object several seconds, a hung store up to
 * S3_REQUEST_TIMEOUT (30 s by default).
 */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Wraps the storage the cache reads through so that /metrics shows how long
 * storage takes and how its calls end: `storage_request_duration_seconds`,
 * labelled by `operation` (get, head, put, delete) and `outcome` ("ok",
 * "not_modified", or the CacheError kind with underscores, e.g. "not_found",
 * "unavailable", "cancelled"; "error" for anything else).
 *
 * A get is timed until storage answered (status and headers), not while its
 * body streams: a BYPASS body flows at the gRPC client's pace, which says
 * nothing about storage. A put is timed until storage acknowledged it, upload
 * included. Nothing but the clock read is added on the request path.
 */
export function createTimedStorage(storage: ObjectStorage, registry: Registry): ObjectStorage {
  const duration = new Histogram({
    name: "storage_request_duration_seconds",
    help: "Time until object storage answered a call (a get until its headers), by operation and outcome",
    labelNames: ["operation", "outcome"] as const,
    buckets: BUCKETS,
    registers: [registry],
  });

  async function timed<T>(
    operation: Operation,
    call: () => Promise<T>,
    outcomeOf: (value: T) => string = () => "ok",
  ): Promise<T> {
    const started = performance.now();
    const observe = (outcome: string): void => {
      duration.observe({ operation, outcome }, (performance.now() - started) / 1000);
    };
    try {
      const value = await call();
      observe(outcomeOf(value));
      return value;
    } catch (err) {
      observe(isCacheError(err) ? err.kind.replaceAll("-", "_") : "error");
      throw err;
    }
  }

  return {
    backend: storage.backend,
    get: (bucket, key, options) =>
      timed(
        "get",
        () => storage.get(bucket, key, options),
        (r) => (r.kind === "not-modified" ? "not_modified" : "ok"),
      ),
    head: (bucket, key, options) => timed("head", () => storage.head(bucket, key, options)),
    put: (bucket, key, body, options) => timed("put", () => storage.put(bucket, key, body, options)),
    delete: (bucket, key, options) => timed("delete", () => storage.delete(bucket, key, options)),
  };
}
