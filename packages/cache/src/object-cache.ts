/**
 * The object cache: the cache rules of design.md ("Cache rules") over an
 * {@link ObjectStorage}. Read-through with single-flight on misses,
 * revalidation with If-None-Match, stale-if-error, write-through (a small
 * object's written body is kept once storage acknowledges it), and a feed of
 * what was invalidated.
 * Pure: storage, time and the breaker come in as values.
 */
import { type BreakerHook, createStorageGuard } from "./breaker-hook.js";
import { resolveRange, validateRange } from "./byte-range.js";
import type { Clock } from "./clock.js";
import { isNotModified } from "./conditional.js";
import { CacheError, isCacheError } from "./errors.js";
import { createGenerations, type LoadTicket } from "./generations.js";
import { createInvalidationFeed, type InvalidationCause } from "./invalidation-feed.js";
import {
  asAsync,
  bodyLength,
  bodySlices,
  collectBody,
  discardBody,
  emptyBody,
  keepCopy,
  type ObjectBody,
  rechunk,
} from "./object-body.js";
import { createObjectStore, type ObjectEntry, storeKey } from "./object-store.js";
import type { CacheStatus, GetOptions, GetResult, ObjectCache } from "./object-cache-api.js";
import { createSingleFlight } from "./single-flight.js";
import { createStatusCounters } from "./status-counters.js";
import type { ObjectMeta, ObjectStorage, ResolvedRange, StoragePutOptions, StoragePutResult } from "./storage.js";
import { createWriteOverlaps } from "./write-overlaps.js";

/** Options of {@link createObjectCache}; sizes in bytes, durations in milliseconds. */
export interface ObjectCacheOptions {
  /** Where objects live; misses, revalidations, writes and deletes go here. */
  readonly storage: ObjectStorage;
  /** The time source for freshness; the cache has no timers. */
  readonly clock: Clock;
  /** Age below which a cached object is served without asking storage (default 5 min). */
  readonly ttlMs?: number | undefined;
  /** Age below which an expired object may still be served when storage fails (default 1 h). */
  readonly maxStaleMs?: number | undefined;
  /** How long a 404 is remembered (default 10 s). */
  readonly negativeTtlMs?: number | undefined;
  /** Bound on cached bytes, bodies plus per-entry overhead (default 100 MiB). */
  readonly maxBytes?: number | undefined;
  /** Larger objects stream through uncached (default 8 MiB). */
  readonly maxObjectBytes?: number | undefined;
  /** Asked before, and told after, every storage call (the backend's circuit breaker). */
  readonly breaker?: BreakerHook | undefined;
  /** Hooks for the app to log and count; the library itself does not log. */
  readonly events?: ObjectCacheEvents | undefined;
}

/** Things worth a log line or a metric, reported as they happen. */
export interface ObjectCacheEvents {
  /** A stale copy is being served because storage failed or its breaker is open. */
  readonly onStale?: ((info: StaleInfo) => void) | undefined;
  /** An invalidation listener threw (the others still ran). */
  readonly onListenerError?: ((error: unknown) => void) | undefined;
}

/** Details of a stale answer. */
export interface StaleInfo {
  readonly bucket: string;
  readonly key: string;
  /** Since storage last confirmed the copy. */
  readonly ageMs: number;
  /** Why storage could not: "unavailable", with retryAfterMs when the breaker refused. */
  readonly error: CacheError;
}

const MiB = 1024 * 1024;

/** What a shared load produced. */
type Loaded =
  | { readonly kind: "entry"; readonly entry: ObjectEntry; readonly status: "MISS" | "REVALIDATED" | "STALE" }
  | { readonly kind: "bypass"; readonly meta: ObjectMeta; readonly body: AsyncIterable<Uint8Array> };

/** A load's generation ticket, also fenced by expireAll. */
type FencedTicket = LoadTicket & { readonly expiries: number };

/** A storage answer before it is stored. */
type Fetched =
  | { readonly kind: "not-modified" }
  | { readonly kind: "whole"; readonly meta: ObjectMeta; readonly body: ObjectBody }
  | { readonly kind: "bypass"; readonly meta: ObjectMeta; readonly body: AsyncIterable<Uint8Array> };

/** Creates an {@link ObjectCache}; rejects bad sizes and durations with a RangeError. */
export function createObjectCache(options: ObjectCacheOptions): ObjectCache {
  const { storage, clock, events } = options;
  const maxObjectBytes = options.maxObjectBytes ?? 8 * MiB;
  const store = createObjectStore({
    maxBytes: options.maxBytes ?? 100 * MiB,
    maxObjectBytes,
    ttlMs: options.ttlMs ?? 5 * 60_000,
    maxStaleMs: options.maxStaleMs ?? 60 * 60_000,
    negativeTtlMs: options.negativeTtlMs ?? 10_000,
  });
  const guard = createStorageGuard(options.breaker, clock);
  const generations = createGenerations();
  // Bumped by expireAll: a load that began before it may have read storage
  // before a write whose invalidation was missed, so it stores nothing.
  let expiries = 0;
  const beginLoad = (): FencedTicket => ({ ...generations.begin(), expiries });
  const isCurrent = (ticket: FencedTicket, bucket: string, key: string): boolean =>
    ticket.expiries === expiries && generations.isCurrent(ticket, bucket, key);
  const feed = createInvalidationFeed({ onListenerError: events?.onListenerError });
  // Whoever is left holding a bypass stream nobody waits for closes it.
  const flights = createSingleFlight<Loaded>({
    onOrphan: (loaded) => {
      if (loaded.kind === "bypass") void discardBody(loaded.body);
    },
  });
  const counters = createStatusCounters();
  const counted = counters.count;
  const writes = createWriteOverlaps();

  /** Answers from a whole object held in memory. */
  function answer(entry: ObjectEntry, status: CacheStatus, options: GetOptions): GetResult {
    const { meta, body } = entry;
    // RFC 9110 13.2.2: preconditions before Range.
    if (isNotModified(options, meta)) return counted({ status, meta, notModified: true, body: emptyBody });
    const range = options.range === undefined ? undefined : resolveRange(options.range, meta.size);
    const start = range?.start ?? 0;
    const end = range === undefined ? meta.size : range.end + 1;
    const chunks = { [Symbol.asyncIterator]: () => asAsync(bodySlices(body, start, end)) };
    return counted({ status, meta, notModified: false, range, body: chunks });
  }

  /** Answers from a storage stream; closes it when a condition says not modified. */
  async function streamed(
    meta: ObjectMeta,
    body: AsyncIterable<Uint8Array>,
    range: ResolvedRange | undefined,
    options: GetOptions,
  ): Promise<GetResult> {
    if (isNotModified(options, meta)) {
      await discardBody(body);
      return counted({ status: "BYPASS", meta, notModified: true, body: emptyBody });
    }
    return counted({ status: "BYPASS", meta, notModified: false, range, body: rechunk(body) });
  }

  /** One guarded storage GET for a shared load: the body read whole if small, else left as a stream. */
  async function fetchWhole(bucket: string, key: string, signal: AbortSignal, ifNoneMatch?: string): Promise<Fetched> {
    return guard.run(async () => {
      const result = await storage.get(bucket, key, { ifNoneMatch, signal });
      if (result.kind === "not-modified") {
        if (ifNoneMatch !== undefined) return result;
        throw new CacheError("unavailable", "storage answered not-modified to an unconditional read");
      }
      const { meta } = result;
      if (meta.size > maxObjectBytes) return { kind: "bypass", meta, body: result.body };
      return { kind: "whole", meta, body: await collectBody(result.body, meta.size, signal) };
    }, signal);
  }

  /** Stores a fetched object unless a write overtook the load; answers from it either way. */
  function keep(ticket: FencedTicket, bucket: string, key: string, meta: ObjectMeta, body: ObjectBody): ObjectEntry {
    const now = clock.now();
    const stored = isCurrent(ticket, bucket, key) ? store.setObject(bucket, key, meta, body, now) : undefined;
    return stored ?? { kind: "object", meta, body, storedAt: now, validatedAt: now };
  }

  function rememberNotFound(ticket: FencedTicket, bucket: string, key: string): void {
    if (isCurrent(ticket, bucket, key)) store.setNotFound(bucket, key, clock.now());
  }

  /** A miss: one storage GET for everyone waiting on this key. */
  async function load(bucket: string, key: string, signal: AbortSignal): Promise<Loaded> {
    const ticket = beginLoad();
    try {
      const fetched = await fetchWhole(bucket, key, signal);
      if (fetched.kind === "bypass") return fetched;
      if (fetched.kind === "not-modified") throw new CacheError("unavailable", "unexpected not-modified");
      return { kind: "entry", entry: keep(ticket, bucket, key, fetched.meta, fetched.body), status: "MISS" };
    } catch (e) {
      if (isCacheError(e, "not-found")) rememberNotFound(ticket, bucket, key);
      throw e;
    } finally {
      generations.end(ticket);
    }
  }

  /** An expired copy: ask storage whether it changed; serve it stale if storage fails. */
  async function revalidate(bucket: string, key: string, stale: ObjectEntry, signal: AbortSignal): Promise<Loaded> {
    const ticket = beginLoad();
    try {
      const fetched = await fetchWhole(bucket, key, signal, stale.meta.etag);
      const current = isCurrent(ticket, bucket, key);
      switch (fetched.kind) {
        case "not-modified": {
          const refreshed = current ? store.markValidated(bucket, key, stale, clock.now()) : undefined;
          return { kind: "entry", entry: refreshed ?? stale, status: "REVALIDATED" };
        }
        case "bypass":
          if (current) store.delete(bucket, key, stale);
          return fetched;
        case "whole":
          return { kind: "entry", entry: keep(ticket, bucket, key, fetched.meta, fetched.body), status: "MISS" };
      }
    } catch (e) {
      if (isCacheError(e, "unavailable")) {
        events?.onStale?.({ bucket, key, ageMs: clock.now() - stale.validatedAt, error: e });
        return { kind: "entry", entry: stale, status: "STALE" };
      }
      if (isCacheError(e, "not-found")) rememberNotFound(ticket, bucket, key);
      throw e;
    } finally {
      generations.end(ticket);
    }
  }

  /** A read storage answers directly and the cache keeps nothing of (ranges, large objects). */
  async function bypass(bucket: string, key: string, options: GetOptions): Promise<GetResult> {
    const { range, signal } = options;
    const ticket = beginLoad();
    try {
      const result = await guard.run(() => storage.get(bucket, key, { range, signal }), signal);
      if (result.kind === "not-modified") throw new CacheError("unavailable", "unexpected not-modified");
      return await streamed(result.meta, result.body, result.range, options);
    } catch (e) {
      if (isCacheError(e, "not-found")) rememberNotFound(ticket, bucket, key);
      // RFC 9110 13.2.2: a failed If-None-Match / If-Modified-Since wins over
      // an unsatisfiable range; storage judged the range alone, so ask again.
      if (isCacheError(e, "range-not-satisfiable") && hasConditions(options)) {
        const meta = await guard.run(() => storage.head(bucket, key, { signal }), signal);
        if (isNotModified(options, meta))
          return counted({ status: "BYPASS", meta, notModified: true, body: emptyBody });
      }
      throw e;
    } finally {
      generations.end(ticket);
    }
  }

  /** Joins or starts the key's shared load and answers this caller from it. */
  async function shared(
    bucket: string,
    key: string,
    options: GetOptions,
    run: (signal: AbortSignal) => Promise<Loaded>,
  ): Promise<GetResult> {
    const { value, leader } = await flights.run(storeKey(bucket, key), run, options.signal);
    if (value.kind === "bypass") {
      // Only the leader owns the stream, and it carries the whole object.
      if (leader && options.range === undefined) return streamed(value.meta, value.body, undefined, options);
      if (leader) void discardBody(value.body);
      return bypass(bucket, key, options);
    }
    const status = value.status === "STALE" || leader ? value.status : "COALESCED";
    return answer(value.entry, status, options);
  }

  /** After storage acknowledged a write (or on a purge): nothing older may be served or stored. */
  function fence(bucket: string, key: string): void {
    generations.bump(bucket, key);
    flights.forget(storeKey(bucket, key));
  }

  function publish(bucket: string, key: string, prefix: boolean, cause: InvalidationCause): void {
    feed.publish({ bucket, key, prefix, cause });
  }

  return {
    async get(bucket, key, options = {}) {
      checkNames(bucket, key);
      if (options.range !== undefined) validateRange(options.range);
      throwIfCancelled(options.signal);
      const found = store.lookup(bucket, key, clock.now());
      if (found?.freshness === "fresh") {
        if (found.entry.kind === "not-found") {
          counters.count({ status: "HIT" });
          throw notFound();
        }
        return answer(found.entry, "HIT", options);
      }
      if (found?.entry.kind === "object") {
        const stale = found.entry;
        return shared(bucket, key, options, (signal) => revalidate(bucket, key, stale, signal));
      }
      if (options.range !== undefined) return bypass(bucket, key, options);
      return shared(bucket, key, options, (signal) => load(bucket, key, signal));
    },

    async head(bucket, key, options = {}) {
      checkNames(bucket, key);
      throwIfCancelled(options.signal);
      const found = store.lookup(bucket, key, clock.now());
      if (found?.freshness === "fresh") {
        if (found.entry.kind === "not-found") {
          counters.count({ status: "HIT" });
          throw notFound();
        }
        return counted({ status: "HIT", meta: found.entry.meta });
      }
      const stale = found?.entry.kind === "object" ? found.entry : undefined;
      const ticket = beginLoad();
      try {
        const meta = await guard.run(() => storage.head(bucket, key, { signal: options.signal }), options.signal);
        if (stale === undefined || !isCurrent(ticket, bucket, key)) return counted({ status: "MISS", meta });
        // The same entity tag confirms the cached body too.
        if (meta.etag === stale.meta.etag && store.markValidated(bucket, key, stale, clock.now()) !== undefined) {
          return counted({ status: "REVALIDATED", meta });
        }
        store.delete(bucket, key, stale);
        return counted({ status: "MISS", meta });
      } catch (e) {
        if (stale !== undefined && isCacheError(e, "unavailable")) {
          events?.onStale?.({ bucket, key, ageMs: clock.now() - stale.validatedAt, error: e });
          return counted({ status: "STALE", meta: stale.meta });
        }
        if (isCacheError(e, "not-found")) rememberNotFound(ticket, bucket, key);
        throw e;
      } finally {
        generations.end(ticket);
      }
    },

    async put(bucket, key, body, options = {}) {
      checkNames(bucket, key);
      throwIfCancelled(options.signal);
      const write = writes.begin(storeKey(bucket, key));
      try {
        const copy = keepCopy(body, maxObjectBytes);
        // Storage first: a failed put changes nothing here.
        const result = await guard.run(() => storage.put(bucket, key, copy.body, options), options.signal);
        fence(bucket, key);
        const kept = write.overlapped() ? undefined : copy.kept();
        if (kept === undefined || bodyLength(kept) !== result.size) store.delete(bucket, key);
        else store.setObject(bucket, key, writtenMeta(result, options, clock.now()), kept, clock.now());
        publish(bucket, key, false, "put");
        return result;
      } finally {
        write.end();
      }
    },

    async delete(bucket, key, options = {}) {
      checkNames(bucket, key);
      throwIfCancelled(options.signal);
      const write = writes.begin(storeKey(bucket, key));
      try {
        await guard.run(() => storage.delete(bucket, key, { signal: options.signal }), options.signal);
        fence(bucket, key);
        // After an overlapping put, storage may hold either outcome: know nothing.
        if (write.overlapped()) store.delete(bucket, key);
        else store.setNotFound(bucket, key, clock.now());
        publish(bucket, key, false, "delete");
      } finally {
        write.end();
      }
    },

    invalidate(bucket, key, options = {}) {
      const prefix = options.prefix ?? false;
      checkNames(bucket, key, prefix);
      let dropped: number;
      if (prefix) {
        generations.bumpPrefix(bucket, key);
        const start = storeKey(bucket, key);
        for (const k of [...flights.keys()]) if (k.startsWith(start)) flights.forget(k);
        dropped = store.deletePrefix(bucket, key);
      } else {
        fence(bucket, key);
        dropped = store.delete(bucket, key) ? 1 : 0;
      }
      if (options.publish ?? true) publish(bucket, key, prefix, "purge");
      return dropped;
    },

    expireAll() {
      expiries++;
      // Later reads start their own load rather than join one that began before.
      for (const k of [...flights.keys()]) flights.forget(k);
      return store.expireAll(clock.now());
    },

    onInvalidation: (listener) => feed.subscribe(listener),
    get invalidationSequence() {
      return feed.sequence;
    },
    sweep: () => store.sweep(clock.now()),
    stats: () => ({ ...counters.snapshot(), ...store.stats() }),
  };
}

/**
 * What storage now holds after an acknowledged put. Storage does not answer
 * a put with its Last-Modified; the acknowledgement's second stands in for it
 * (HTTP dates have whole seconds), and may differ from storage's by one.
 */
function writtenMeta(result: StoragePutResult, options: StoragePutOptions, now: number): ObjectMeta {
  return {
    size: result.size,
    contentType: options.contentType ?? "application/octet-stream",
    etag: result.etag,
    lastModified: new Date(Math.floor(now / 1000) * 1000),
    // S3 names user metadata in lower case; so does every other read of it.
    metadata: Object.fromEntries(
      Object.entries(options.metadata ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    ),
  };
}

/** Bucket and key must be non-empty (a prefix may be empty); NUL separates them in store keys. */
function checkNames(bucket: string, key: string, keyMayBeEmpty = false): void {
  if (bucket === "" || bucket.includes("\u0000")) throw new CacheError("invalid-argument", "invalid bucket name");
  if (key === "" && !keyMayBeEmpty) throw new CacheError("invalid-argument", "empty object key");
}

function hasConditions(options: GetOptions): boolean {
  return options.ifNoneMatch !== undefined || options.ifModifiedSince !== undefined;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CacheError("cancelled", "the call was cancelled", { cause: signal.reason });
}

function notFound(): CacheError {
  return new CacheError("not-found", "no such object");
}
