import { describe, expect, it } from "vitest";
import { cacheV1 } from "@breakwater/proto";
import { cacheStatusHeader } from "./object-headers.js";

const { CacheStatus, ReadRoute } = cacheV1;

describe("Cache-Status of a cache-store's answer (RFC 9211)", () => {
  it.each([
    [CacheStatus.HIT, ReadRoute.OWNED, "breakwater; hit"],
    [CacheStatus.MISS, ReadRoute.FORWARDED, "breakwater; fwd=miss"],
    [CacheStatus.HIT, ReadRoute.HOT, "breakwater; hit"],
    [CacheStatus.MISS, ReadRoute.UNSPECIFIED, "breakwater; fwd=miss"],
    [CacheStatus.MISS, ReadRoute.OWNER_FALLBACK, "breakwater; fwd=miss; detail=owner-fallback"],
    [CacheStatus.HIT, ReadRoute.OWNER_FALLBACK, "breakwater; hit; detail=owner-fallback"],
    // One detail per member: staleness matters more to a client than which replica served.
    [CacheStatus.STALE, ReadRoute.OWNER_FALLBACK, "breakwater; hit; detail=stale"],
  ])("%s via route %s: %s", (cacheStatus, route, expected) => {
    expect(cacheStatusHeader({ cacheStatus, route })).toBe(expected);
  });
});
