import { describe, expect, it } from "vitest";
import { createCoordinatorReplicas, type AddressLookup } from "./coordinator-replicas.js";

/** A clock the test moves. */
function drivenClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** A resolver answering from a table the test edits, counting lookups. */
function fakeDns(table: Record<string, string[]>) {
  const asked: string[] = [];
  const lookup: AddressLookup = async (hostname) => {
    asked.push(hostname);
    const records = table[hostname];
    if (records === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return records.map((address) => ({ address }));
  };
  return { lookup, asked, table };
}

const urls = (replicas: ReturnType<typeof createCoordinatorReplicas>) => replicas.current().map((r) => r.url);

describe("coordinator replicas from COORDINATOR_URL", () => {
  it("takes IP addresses as they stand, and looks nothing up for them", () => {
    const dns = fakeDns({});
    const replicas = createCoordinatorReplicas({
      urls: ["http://10.0.0.1:50052", "http://[fd00::2]:50052"],
      lookup: dns.lookup,
    });
    expect(replicas.current()).toEqual([
      { url: "http://10.0.0.1:50052", target: "10.0.0.1:50052", authority: undefined },
      { url: "http://[fd00::2]:50052", target: "[fd00::2]:50052", authority: undefined },
    ]);
    expect(dns.asked).toEqual([]);
  });

  it("stands a DNS name for one replica per record (IPv4 and IPv6), keeping the name as the authority", async () => {
    const dns = fakeDns({ "coordinators.internal": ["10.0.0.1", "10.0.0.2", "fd00::3"] });
    const replicas = createCoordinatorReplicas({
      urls: ["http://coordinators.internal:50052", "http://10.0.0.9:50052"],
      lookup: dns.lookup,
      clock: drivenClock(),
    });
    // Before the first answer, the name itself (grpc-js resolves it).
    expect(urls(replicas)).toEqual(["http://coordinators.internal:50052", "http://10.0.0.9:50052"]);
    await replicas.refresh();
    expect(replicas.current()).toEqual([
      { url: "http://10.0.0.1:50052", target: "10.0.0.1:50052", authority: "coordinators.internal:50052" },
      { url: "http://10.0.0.2:50052", target: "10.0.0.2:50052", authority: "coordinators.internal:50052" },
      { url: "http://[fd00::3]:50052", target: "[fd00::3]:50052", authority: "coordinators.internal:50052" },
      { url: "http://10.0.0.9:50052", target: "10.0.0.9:50052", authority: undefined },
    ]);
  });

  it("looks names up again when asked after refreshMs, not before, and follows records that come and go", async () => {
    const clock = drivenClock();
    const dns = fakeDns({ "c.internal": ["10.0.0.1", "10.0.0.2"] });
    const replicas = createCoordinatorReplicas({ urls: ["http://c.internal:7"], lookup: dns.lookup, clock });
    replicas.current(); // starts the first lookup
    await Promise.resolve();
    await replicas.refresh();
    expect(urls(replicas)).toEqual(["http://10.0.0.1:7", "http://10.0.0.2:7"]);
    const asked = dns.asked.length;
    dns.table["c.internal"] = ["10.0.0.2", "10.0.0.3"];
    clock.advance(4_999);
    replicas.current();
    expect(dns.asked.length).toBe(asked); // still fresh
    clock.advance(1);
    expect(urls(replicas)).toEqual(["http://10.0.0.1:7", "http://10.0.0.2:7"]); // this answer is the old one...
    await new Promise((resolve) => setImmediate(resolve));
    expect(dns.asked.length).toBe(asked + 1);
    expect(urls(replicas)).toEqual(["http://10.0.0.2:7", "http://10.0.0.3:7"]); // ...the next, the new records
  });

  it("keeps what a name stood for when a lookup fails, and drops duplicates", async () => {
    const dns = fakeDns({ "c.internal": ["10.0.0.1", "10.0.0.1"] });
    const replicas = createCoordinatorReplicas({
      urls: ["http://c.internal:7", "http://10.0.0.1:7"],
      lookup: dns.lookup,
    });
    await replicas.refresh();
    expect(urls(replicas)).toEqual(["http://10.0.0.1:7"]);
    delete dns.table["c.internal"];
    await replicas.refresh();
    expect(urls(replicas)).toEqual(["http://10.0.0.1:7"]);
  });

  it("dials a bare host:port as written (tools and tests), and refuses an empty list", () => {
    const replicas = createCoordinatorReplicas({ urls: ["127.0.0.1:50052"], lookup: fakeDns({}).lookup });
    expect(replicas.current()).toEqual([{ url: "127.0.0.1:50052", target: "127.0.0.1:50052", authority: undefined }]);
    expect(() => createCoordinatorReplicas({ urls: [] })).toThrow(RangeError);
  });

  it("resolves localhost with the system resolver (every record it has here)", async () => {
    const replicas = createCoordinatorReplicas({ urls: ["http://localhost:50052"] });
    await replicas.refresh();
    const found = urls(replicas);
    expect(found.length).toBeGreaterThanOrEqual(1);
    expect(found.every((u) => u === "http://127.0.0.1:50052" || u === "http://[::1]:50052")).toBe(true);
  });
});
