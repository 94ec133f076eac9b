import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { CacheError, type ObjectMeta, type ObjectStorage } from "@breakwater/cache";
import { createTimedStorage } from "./timed-storage.js";

const meta: ObjectMeta = { size: 1, contentType: "text/plain", etag: '"e"', lastModified: new Date(0), metadata: {} };

/** A storage whose answers the test picks per call. */
function fakeStorage(): ObjectStorage & { fail?: CacheError | Error; notModified?: boolean } {
  const storage: ObjectStorage & { fail?: CacheError | Error; notModified?: boolean } = {
    backend: "s3:http://fake",
    async get() {
      if (storage.fail) throw storage.fail;
      if (storage.notModified) return { kind: "not-modified" };
      return { kind: "object", meta, body: (async function* () {})() };
    },
    async head() {
      if (storage.fail) throw storage.fail;
      return meta;
    },
    async put() {
      if (storage.fail) throw storage.fail;
      return { etag: '"e"', size: 1 };
    },
    async delete() {
      if (storage.fail) throw storage.fail;
    },
  };
  return storage;
}

/** A histogram's values carry the sample's name (_bucket, _sum, _count); prom-client's type omits it. */
function metricName(value: object): string | undefined {
  return (value as { metricName?: string }).metricName;
}

async function counts(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric("storage_request_duration_seconds")!.get();
  const out: Record<string, number> = {};
  for (const v of metric.values) {
    if (metricName(v) !== "storage_request_duration_seconds_count") continue;
    out[`${v.labels.operation} ${v.labels.outcome}`] = v.value;
  }
  return out;
}

describe("createTimedStorage", () => {
  it("passes every call through and times it by operation and outcome", async () => {
    const registry = new Registry();
    const inner = fakeStorage();
    const storage = createTimedStorage(inner, registry);
    expect(storage.backend).toBe("s3:http://fake");

    await expect(storage.get("b", "k")).resolves.toMatchObject({ kind: "object", meta });
    inner.notModified = true;
    await expect(storage.get("b", "k", { ifNoneMatch: '"e"' })).resolves.toEqual({ kind: "not-modified" });
    await storage.head("b", "k");
    await storage.put("b", "k", (async function* () {})());
    await storage.delete("b", "k");

    inner.fail = new CacheError("not-found", "no such object");
    await expect(storage.get("b", "k")).rejects.toBe(inner.fail);
    inner.fail = new CacheError("range-not-satisfiable", "no");
    await expect(storage.get("b", "k")).rejects.toBe(inner.fail);
    inner.fail = new CacheError("unavailable", "down");
    await expect(storage.head("b", "k")).rejects.toBe(inner.fail);
    inner.fail = new Error("a bug");
    await expect(storage.delete("b", "k")).rejects.toThrow("a bug");

    expect(await counts(registry)).toEqual({
      "get ok": 1,
      "get not_modified": 1,
      "get not_found": 1,
      "get range_not_satisfiable": 1,
      "head ok": 1,
      "head unavailable": 1,
      "put ok": 1,
      "delete ok": 1,
      "delete error": 1,
    });
  });

  it("measures the time until storage answers", async () => {
    const registry = new Registry();
    const inner = fakeStorage();
    const slow: ObjectStorage = { ...inner, head: async () => new Promise((done) => setTimeout(() => done(meta), 30)) };
    await createTimedStorage(slow, registry).head("b", "k");
    const metric = await registry.getSingleMetric("storage_request_duration_seconds")!.get();
    const sum = metric.values.find((v) => metricName(v) === "storage_request_duration_seconds_sum")!.value;
    expect(sum).toBeGreaterThanOrEqual(0.025);
    expect(sum).toBeLessThan(5);
  });
});
