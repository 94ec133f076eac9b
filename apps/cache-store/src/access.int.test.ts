import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheV1, healthV1 } from "@breakwater/proto";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { createGrpcClient, grpcTarget } from "@breakwater/server-kit";
import { createOwnerOrder } from "@breakwater/cache";
import { bearer, eventually, promSample, writeTokensFile } from "@breakwater/testkit";
import {
  chunksOf,
  failure,
  putMessages,
  readObject,
  startCacheStoreStack,
  type CacheClient,
  type CacheStoreStack,
} from "./__fixtures__/cache-store-stack.js";
import { metricsOf, startReplicaFleet, type ReplicaFleet } from "./__fixtures__/replica-fleet.js";

const TOKENS = [
  { name: "replica", token: "replica-secret", permissions: ["read", "write", "purge"] },
  { name: "reader", token: "reader-secret", permissions: ["read"], buckets: ["default"] },
  { name: "writer", token: "writer-secret", permissions: ["write"], buckets: ["default"], prefixes: ["w/"] },
  { name: "purger", token: "purger-secret", permissions: ["purge"] },
];
const as = (name: string) => ({ headers: bearer(TOKENS.find((t) => t.name === name)!.token) });

function putWith(client: CacheClient, bucket: string, key: string, body: string, options?: { headers: object }) {
  const header = create(cacheV1.PutObjectHeaderSchema, { bucket, key, contentType: "text/plain" });
  return client.putObject(putMessages(header, chunksOf(Buffer.from(body))), options as never);
}

/** CacheService checks the caller's `authorization: Bearer …` metadata on both ports (issue 13). */
describe("CacheService tokens and permissions", () => {
  let stack: CacheStoreStack;
  let client: CacheClient;

  beforeAll(async () => {
    stack = await startCacheStoreStack({
      buckets: ["default", "other"],
      env: { BW_TOKENS_FILE: writeTokensFile(TOKENS) },
    });
    client = stack.client;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("UNAUTHENTICATED without a token or with one it does not know", async () => {
    const none = await failure(client.headObject({ bucket: "default", key: "k" }));
    expect([none.code, none.rawMessage]).toEqual([
      Code.Unauthenticated,
      "HeadObject needs a bearer token allowed to read in default/k",
    ]);
    const unknown = await failure(client.headObject({ bucket: "default", key: "k" }, { headers: bearer("nope") }));
    expect(unknown.code).toBe(Code.Unauthenticated);
    expect((await failure(readObject(client, { bucket: "default", key: "k" }))).code).toBe(Code.Unauthenticated);
    expect((await failure(putWith(client, "default", "w/k", "x"))).code).toBe(Code.Unauthenticated);
  });

  it("read: allowed in its bucket, PERMISSION_DENIED elsewhere and for writes", async () => {
    const missing = await failure(client.headObject({ bucket: "default", key: "k" }, as("reader")));
    expect(missing.code).toBe(Code.NotFound); // let through: the key is just not there
    const other = await failure(readObject(client, { bucket: "other", key: "k" }, as("reader")));
    expect([other.code, other.rawMessage]).toEqual([
      Code.PermissionDenied,
      'GetObject is not allowed: token "reader" may not read in other/k',
    ]);
    expect((await failure(putWith(client, "default", "w/k", "x", as("reader")))).code).toBe(Code.PermissionDenied);
    // Stats cover every bucket: a read limited to some does not cover them.
    expect((await failure(client.getStats({}, as("reader")))).code).toBe(Code.PermissionDenied);
    expect((await client.getStats({}, as("replica"))).maxBytes).toBeGreaterThan(0n);
  });

  it("write: PutObject and DeleteObject under its prefix; a local drop of one key, not a purge", async () => {
    const put = await putWith(client, "default", "w/one", "one", as("writer"));
    expect(put.size).toBe(3n);
    expect((await failure(putWith(client, "default", "x/one", "one", as("writer")))).code).toBe(Code.PermissionDenied);
    await client.deleteObject({ bucket: "default", key: "w/one" }, as("writer"));
    await client.invalidateCache({ bucket: "default", key: "w/one", localOnly: true }, as("writer"));
    const wider = await failure(
      client.invalidateCache({ bucket: "default", key: "w/", prefix: true, localOnly: true }, as("writer")),
    );
    expect(wider.code).toBe(Code.PermissionDenied);
    expect((await failure(client.invalidateCache({ bucket: "default", key: "w/one" }, as("writer")))).code).toBe(
      Code.PermissionDenied,
    );
  });

  it("purge: InvalidateCache by prefix; a watch of every bucket needs a read of every bucket", async () => {
    await client.invalidateCache({ bucket: "other", key: "", prefix: true }, as("purger"));
    const firstOf = async (watch: AsyncIterable<cacheV1.WatchInvalidationsResponse>) => {
      for await (const m of watch) return m;
      return undefined;
    };
    const everyBucket = await failure(firstOf(client.watchInvalidations({ bucket: "" }, as("reader"))));
    expect(everyBucket.code).toBe(Code.PermissionDenied);
    for await (const m of client.watchInvalidations({ bucket: "default" }, as("reader"))) {
      expect(m.event.case).toBe("subscribed");
      break;
    }
  });

  it("health stays open; the Connect port enforces the same rules (401 / 403 / allowed)", async () => {
    const health = createGrpcClient(healthV1.Health, stack.process.grpcAddress);
    try {
      expect((await health.check({ service: "" })).status).toBe(healthV1.HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      health.close();
    }
    const head = (headers: Record<string, string>, bucket: string) =>
      fetch(`${stack.process.httpUrl}/breakwater.cache.v1.CacheService/HeadObject`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ bucket, key: "k" }),
      });
    const none = await head({}, "default");
    expect([none.status, ((await none.json()) as { code: string }).code]).toEqual([401, "unauthenticated"]);
    expect((await head(bearer("reader-secret"), "other")).status).toBe(403);
    expect((await head(bearer("reader-secret"), "default")).status).toBe(404);
  });

  it("logs refusals without the token", async () => {
    const output = () => stack.process.output.join("\n");
    await eventually(() => output().includes('"refusal":"forbidden"'), { what: "a refusal logged" });
    expect(output()).toMatch(/"who":"purger".*"msg":"purge"/);
    const lines = output();
    for (const t of TOKENS) expect(lines).not.toContain(t.token);
  });
});

/** Replica → replica calls (forwarding to the owner, invalidation streams) present BW_TOKEN. */
describe("replicas that need tokens call each other with BW_TOKEN", () => {
  let fleet: ReplicaFleet;

  beforeAll(async () => {
    fleet = await startReplicaFleet({
      names: ["a", "b"],
      env: { BW_TOKENS_FILE: writeTokensFile(TOKENS), BW_TOKEN: "replica-secret" },
    });
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("follows the other's invalidations and forwards a read to the key's owner", async () => {
    const [a, b] = fleet.replicas;
    for (const [r, peer] of [
      [a!, b!],
      [b!, a!],
    ] as const) {
      await eventually(
        async () => promSample(await metricsOf(r), "cache_peer_invalidation_stream_live", { peer: peer.url }) === 1,
        { timeoutMs: 15_000, what: `${r.name} follows ${peer.name}` },
      );
    }
    const order = createOwnerOrder(fleet.replicas.map((r) => grpcTarget(r.url)));
    let key = "";
    for (let i = 0; key === ""; i++) if (order.owner("default", `k-${i}`) === grpcTarget(a!.url)) key = `k-${i}`;
    await fleet.seed(key, "owned by a");
    const read = await readObject(b!.client, { bucket: "default", key }, as("reader"));
    expect([read.body.toString(), read.first.route]).toEqual(["owned by a", cacheV1.ReadRoute.FORWARDED]);
  });
});
