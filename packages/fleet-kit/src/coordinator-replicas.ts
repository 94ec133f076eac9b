/**
 * The coordinator replicas a session may open on, from COORDINATOR_URL (a
 * list, parsed once by the config): an address given as an IP is a replica
 * as it stands; a DNS name stands for one replica per record (A and AAAA),
 * so a headless service or round-robin name spreads a fleet and fails over
 * like a list. Names are resolved again at most every `refreshMs`, when the
 * session asks, so replicas that come and go are followed; until the first
 * answer (and if a lookup fails) the name itself is the replica, which
 * grpc-js resolves on its own.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { type Clock, systemClock } from "@breakwater/breaker";
import { grpcTarget } from "@breakwater/server-kit";

/** Resolves a host name to its addresses, like `dns.promises.lookup(name, { all: true })`. */
export type AddressLookup = (hostname: string) => Promise<readonly { readonly address: string }[]>;

/** One replica: the URL it is known by (in logs and events), and how to dial it. */
export interface CoordinatorReplica {
  /** `http://10.0.0.7:50052`: a configured URL, or one of a name's records in its place. */
  readonly url: string;
  /** The grpc-js target, `host:port`. */
  readonly target: string;
  /** The configured `host:port` a record came from, sent as the :authority; undefined for a configured URL. */
  readonly authority: string | undefined;
}

/** Options of {@link createCoordinatorReplicas}. */
export interface CoordinatorReplicasOptions {
  /** COORDINATOR_URL as the config parsed it: at least one http(s) URL (a bare `host:port` is dialed as written). */
  readonly urls: readonly string[];
  /** Resolves DNS names (default: the system resolver, A and AAAA records). */
  readonly lookup?: AddressLookup | undefined;
  /** Time source for the refresh interval (default: the wall clock). */
  readonly clock?: Clock | undefined;
  /** Names are looked up again at most this often (default 5 s). */
  readonly refreshMs?: number | undefined;
}

/** The replicas now, following DNS. */
export interface CoordinatorReplicas {
  /** Every replica as last resolved, each URL once; starts a lookup in the background when the answer is old. */
  current(): readonly CoordinatorReplica[];
  /** Looks every DNS name up now; resolves when the answers are in (failed lookups keep what was known). */
  refresh(): Promise<void>;
}

const systemLookup: AddressLookup = (hostname) => dnsLookup(hostname, { all: true });

/**
 * Creates the replica list of a COORDINATOR_URL. Nothing is looked up until
 * the first `current()` or `refresh()`; a list without DNS names never is.
 */
export function createCoordinatorReplicas(options: CoordinatorReplicasOptions): CoordinatorReplicas {
  if (options.urls.length === 0) throw new RangeError("urls must name at least one coordinator, got none");
  const lookup = options.lookup ?? systemLookup;
  const clock = options.clock ?? systemClock;
  const refreshMs = options.refreshMs ?? 5_000;
  const configured = options.urls.map(parseReplicaUrl);
  // What each configured URL stands for now; a name stands for itself until its first answer.
  const expansions: CoordinatorReplica[][] = configured.map((c) => [c.self]);
  let list = flatten(expansions);
  let resolvedAt: number | undefined;
  let inFlight: Promise<void> | undefined;
  const named = configured.some((c) => c.isName);

  const refresh = (): Promise<void> => {
    if (!named) return Promise.resolve();
    resolvedAt = clock.now();
    inFlight ??= Promise.all(
      configured.map(async (c, i) => {
        if (!c.isName) return;
        try {
          const records = await lookup(c.hostname);
          if (records.length > 0) expansions[i] = records.map((r) => c.record(r.address));
        } catch {
          // The name did not resolve now: keep what it stood for (grpc-js may still reach it).
        }
      }),
    ).then(() => {
      list = flatten(expansions);
      inFlight = undefined;
    });
    return inFlight;
  };

  return {
    current() {
      if (named && inFlight === undefined && (resolvedAt === undefined || clock.now() - resolvedAt >= refreshMs))
        void refresh();
      return list;
    },
    refresh,
  };
}

interface ConfiguredUrl {
  readonly hostname: string;
  readonly isName: boolean;
  readonly self: CoordinatorReplica;
  record(address: string): CoordinatorReplica;
}

function parseReplicaUrl(url: string): ConfiguredUrl {
  const u = URL.canParse(url) ? new URL(url) : undefined;
  if (u === undefined || (u.protocol !== "http:" && u.protocol !== "https:")) {
    // A bare `host:port` (what tests and tools dial): one replica, dialed as written, grpc-js resolving it.
    const self = { url, target: grpcTarget(url), authority: undefined };
    return { hostname: "", isName: false, self, record: () => self };
  }
  const hostname = u.hostname.replace(/^\[(.*)\]$/, "$1"); // IPv6 literals come bracketed
  const port = u.port === "" ? (u.protocol === "https:" ? "443" : "80") : u.port;
  const authority = grpcTarget(url);
  return {
    hostname,
    isName: isIP(hostname) === 0,
    self: { url, target: authority, authority: undefined },
    record(address) {
      const host = isIP(address) === 6 ? `[${address}]` : address;
      return { url: `${u.protocol}//${host}:${port}`, target: `${host}:${port}`, authority };
    },
  };
}

function flatten(expansions: readonly CoordinatorReplica[][]): readonly CoordinatorReplica[] {
  const seen = new Set<string>();
  return expansions.flat().filter((r) => !seen.has(r.url) && seen.add(r.url) !== undefined);
}
