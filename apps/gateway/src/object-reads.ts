import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { cacheV1 } from "@breakwater/proto";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { isCacheError, isNotModified, resolveRange, type ObjectMeta, type RangeRequest } from "@breakwater/cache";
import type { ObjectPath } from "./object-path.js";
import { parseRangeHeader, type RangeSpec } from "./range-header.js";
import { cacheStatusHeader, objectHeaders, withGatewayMember, type NearCacheOutcome } from "./object-headers.js";
import { gatewayErrors, sendError } from "./http-errors.js";
import type { NearCache, NearCacheEntry } from "./near-cache.js";
import { routeOf, upstreamsFor, type Routing, type UpstreamPool, type UpstreamRoute } from "./upstreams.js";
import { isUpstreamFailure } from "@breakwater/fleet-kit";

/** Options of {@link createObjectReads}. */
export interface ObjectReadsOptions {
  readonly upstreams: UpstreamPool;
  /** GATEWAY_ROUTING: to each key's owner (then its fallbacks), or round robin. */
  readonly routing: Routing;
  /** Called for each CacheService call an object request makes, with how it reached its replica. */
  readonly onUpstreamCall?: ((route: UpstreamRoute) => void) | undefined;
  /** Deadline of HeadObject calls. */
  readonly upstreamTimeoutMs: number;
  /** The gateway's near-cache; absent when GATEWAY_CACHE_MAX_BYTES is 0. */
  readonly nearCache?: NearCache | undefined;
}

type GetRequest = Parameters<UpstreamPool["all"][number]["cache"]["getObject"]>[0];

/** What answering from one near-cache copy needs, made once per copy rather than per request. */
interface CopyAnswer {
  /** Representation headers with the gateway's `hit` member, without Content-Length. */
  readonly headers: OutgoingHttpHeaders;
  /** `headers` plus Content-Length: the whole 200 answer's headers (node:http does not change them). */
  readonly full: OutgoingHttpHeaders;
  readonly meta: ObjectMeta;
}

/**
 * GET and HEAD of objects: from the near-cache when it holds a fresh copy
 * (`fromNearCache`; conditions and ranges are evaluated here then), else from
 * a cache-store (`get`, `head`), streaming the body and keeping a copy of
 * small whole objects.
 */
export function createObjectReads(options: ObjectReadsOptions) {
  const { upstreams, nearCache, routing } = options;
  const counted = options.onUpstreamCall ?? (() => undefined);
  // Copies never change (a refill is a new entry), so their headers and Date
  // formatting are done once; the WeakMap lets them go with the copy.
  const copyAnswers = new WeakMap<NearCacheEntry, CopyAnswer>();

  function copyAnswerOf(entry: NearCacheEntry): CopyAnswer {
    let answer = copyAnswers.get(entry);
    if (answer === undefined) {
      const headers = objectHeaders(entry.info, withGatewayMember(entry.upstreamStatus, "hit"));
      answer = {
        headers,
        full: { ...headers, "content-length": String(entry.body.byteLength) },
        meta: metaOf(entry.info),
      };
      copyAnswers.set(entry, answer);
    }
    return answer;
  }

  /**
   * Answers a GET or HEAD from the near-cache when it holds a fresh copy
   * (true), else leaves the request alone (false) for `get` or `head`. Call
   * it first: those do not look in the near-cache again.
   */
  function fromNearCache(req: IncomingMessage, res: ServerResponse, path: ObjectPath): boolean {
    const cached = nearCache?.lookup(path.bucket, path.key);
    if (cached === undefined) return false;
    let range = req.method === "GET" ? parseRangeHeader(req.headers.range) : undefined;
    if (range === "ignore" || !ifRangeHolds(req.headers["if-range"], cached.info)) range = undefined;
    answerFromCopy(req, res, cached, range);
    return true;
  }

  function outcome(hit: boolean): NearCacheOutcome {
    if (nearCache === undefined) return "none";
    if (hit) return "hit";
    return nearCache.enabled ? "miss" : "off";
  }

  async function get(req: IncomingMessage, res: ServerResponse, path: ObjectPath, signal: AbortSignal): Promise<void> {
    let range = parseRangeHeader(req.headers.range);
    if (range === "ignore") range = undefined;
    const ifRange = req.headers["if-range"];
    const conditions = conditionsOf(req);
    // A copy of this key is being made: wait for it rather than read upstream too.
    const joined = nearCache?.joinFill(path.bucket, path.key);
    if (joined !== undefined) {
      const copy = await joined;
      if (res.destroyed) return;
      if (copy !== undefined) {
        answerFromCopy(req, res, copy, ifRangeHolds(ifRange, copy.info) ? range : undefined);
        return;
      }
    }
    if (range === "unsatisfiable") {
      const head = await headWithFailover(path, signal);
      const info = head.info!;
      const headers = objectHeaders(info, withGatewayMember(cacheStatusHeader(head), outcome(false)));
      // RFC 9110 13.2.2: the preconditions are evaluated before Range.
      if (isNotModified(conditions, metaOf(info))) {
        res.writeHead(304, notModifiedHeaders(headers)).end();
        return;
      }
      if (ifRangeHolds(ifRange, info)) {
        sendError(res, gatewayErrors.rangeNotSatisfiable, { "content-range": `bytes */${info.size}` });
        return;
      }
      range = undefined; // If-Range failed: the whole body (RFC 9110 13.1.5)
    }
    const request: GetRequest = { bucket: path.bucket, key: path.key, ifNoneMatch: conditions.ifNoneMatch ?? "" };
    if (range !== undefined) request.range = "suffixLength" in range ? { suffixLength: range.suffixLength } : range;
    if (conditions.ifModifiedSince !== undefined)
      request.ifModifiedSince = timestampFromDate(conditions.ifModifiedSince);
    // Taken before the call: an invalidation arriving while the body streams voids the copy.
    // A plain GET leads: other reads of the key arriving meanwhile wait for its copy.
    const plain =
      range === undefined && conditions.ifNoneMatch === undefined && conditions.ifModifiedSince === undefined;
    const ticket = nearCache?.begin(path.bucket, path.key, plain);
    try {
      let first: cacheV1.GetObjectResponse | undefined;
      let copy: Uint8Array[] | undefined;
      for await (const msg of readRange(request, ifRange, signal)) {
        if (first === undefined) {
          first = msg;
          const info = msg.info ?? new ConnectError("upstream answered without object info", Code.Internal);
          if (info instanceof Error) throw info;
          const upstreamStatus = cacheStatusHeader(msg);
          const headers = objectHeaders(info, withGatewayMember(upstreamStatus, outcome(false)));
          if (msg.notModified) {
            res.writeHead(304, notModifiedHeaders(headers)).end();
            return;
          }
          if (msg.contentRange) {
            const { start, end } = msg.contentRange;
            headers["content-range"] = `bytes ${start}-${end}/${info.size}`;
            headers["content-length"] = String(end - start + 1n);
            res.writeHead(206, headers);
          } else {
            headers["content-length"] = String(info.size);
            res.writeHead(200, headers);
            // A stale answer (storage failing) is not made fresh again by copying it here.
            const stale = msg.cacheStatus === cacheV1.CacheStatus.STALE;
            if (ticket?.valid && !stale && nearCache!.accepts(Number(info.size))) copy = [];
          }
          if (copy === undefined && ticket !== undefined) nearCache!.decline(ticket);
        }
        // The client left: stop here (leaving the loop cancels the upstream call).
        if (res.destroyed) return;
        copy?.push(msg.chunk);
        // A copy in the making is small (≤ the near-cache's object limit) and may have
        // followers waiting: it is not paced by this client's reading, only larger bodies are.
        if (msg.chunk.byteLength > 0 && !res.write(msg.chunk) && copy === undefined) await drained(res);
      }
      res.end();
      if (copy !== undefined && first?.info !== undefined) {
        const body = Buffer.concat(copy);
        if (BigInt(body.byteLength) === first.info.size) {
          nearCache!.fill(ticket!, { info: first.info, body, upstreamStatus: cacheStatusHeader(first) });
        }
      }
    } finally {
      if (ticket !== undefined) nearCache!.end(ticket);
    }
  }

  /**
   * A GetObject call whose range holds only for the representation If-Range
   * names (RFC 9110 13.1.5): when the answer's validator does not match, the
   * ranged call is dropped and the whole body read instead.
   */
  async function* readRange(
    request: GetRequest,
    ifRange: string | string[] | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<GetAnswer> {
    if (request.range === undefined || ifRange === undefined) {
      yield* readWithFailover(request, signal);
      return;
    }
    const ranged = readWithFailover(request, signal);
    const first = await ranged.next();
    if (first.done === true) return;
    if (first.value.contentRange === undefined || ifRangeHolds(ifRange, first.value.info)) {
      yield first.value;
      yield* ranged;
      return;
    }
    await ranged.return(undefined); // cancels the ranged call
    const whole: GetRequest = { ...request };
    delete whole.range;
    yield* readWithFailover(whole, signal);
  }

  /**
   * Reads are idempotent: an upstream that fails before answering anything
   * (killed, unreachable) hands the read to the next one in the key's order
   * (its owner's first fallback, with owner routing), so one dead replica
   * fails no read that had not started (design.md "Gateway": requests go to
   * healthy upstreams). The first message (the object's metadata) must come
   * within UPSTREAM_TIMEOUT; the body then streams without a deadline. A
   * replica whose address swallows packets (a node lost or cut off, a killed
   * container's vanished address) answers nothing, so a first-message
   * deadline also goes to the next replica, once: on slow storage every
   * replica would be slow, and the client would wait the deadline once per
   * replica.
   */
  async function* readWithFailover(request: GetRequest, signal: AbortSignal): AsyncGenerator<GetAnswer> {
    let failure: unknown;
    let deadlineRetried = false;
    for (const upstream of upstreamsFor(upstreams, routing, request.bucket ?? "", request.key ?? "")) {
      let answered = false;
      try {
        counted(routeOf(upstream, routing));
        const call = upstream.cache.getObject(request, { signal, firstMessageTimeoutMs: options.upstreamTimeoutMs });
        for await (const msg of call) {
          answered = true;
          yield msg;
        }
        return;
      } catch (err) {
        if (answered || signal.aborted) throw err;
        if (!failsOver(err)) {
          if (!isDeadline(err) || deadlineRetried) throw err;
          deadlineRetried = true;
        }
        failure = err;
      }
    }
    throw failure;
  }

  /** HeadObject with the failover of {@link readWithFailover}. */
  async function headWithFailover(path: ObjectPath, signal: AbortSignal): Promise<cacheV1.HeadObjectResponse> {
    let failure: unknown;
    for (const upstream of upstreamsFor(upstreams, routing, path.bucket, path.key)) {
      try {
        counted(routeOf(upstream, routing));
        return await upstream.cache.headObject(path, { signal, timeoutMs: options.upstreamTimeoutMs });
      } catch (err) {
        if (signal.aborted || !failsOver(err)) throw err;
        failure = err;
      }
    }
    throw failure;
  }

  async function head(req: IncomingMessage, res: ServerResponse, path: ObjectPath, signal: AbortSignal): Promise<void> {
    const answer = await headWithFailover(path, signal);
    const info = answer.info!;
    const headers = objectHeaders(info, withGatewayMember(cacheStatusHeader(answer), outcome(false)));
    if (isNotModified(conditionsOf(req), metaOf(info))) {
      res.writeHead(304, notModifiedHeaders(headers)).end();
      return;
    }
    headers["content-length"] = String(info.size);
    res.writeHead(200, headers).end();
  }

  /** GET or HEAD from a near-cache copy: conditions first, then the range (RFC 9110 13.2.2). */
  function answerFromCopy(
    req: IncomingMessage,
    res: ServerResponse,
    entry: NearCacheEntry,
    range: RangeSpec | "unsatisfiable" | undefined,
  ): void {
    const answer = copyAnswerOf(entry);
    const size = entry.body.byteLength;
    const conditional = req.headers["if-none-match"] !== undefined || req.headers["if-modified-since"] !== undefined;
    if (conditional && isNotModified(conditionsOf(req), answer.meta)) {
      res.writeHead(304, notModifiedHeaders(answer.headers)).end();
      return;
    }
    const isHead = req.method === "HEAD";
    if (range === undefined || isHead) {
      res.writeHead(200, answer.full).end(isHead ? undefined : entry.body);
      return;
    }
    const headers = { ...answer.headers };
    let resolved: { start: number; end: number };
    try {
      if (range === "unsatisfiable") throw new RangeError("unsatisfiable");
      resolved = resolveRange(rangeRequestOf(range), size);
    } catch (err) {
      if (!(err instanceof RangeError) && !isCacheError(err, "range-not-satisfiable")) throw err;
      sendError(res, gatewayErrors.rangeNotSatisfiable, { "content-range": `bytes */${size}` });
      return;
    }
    headers["content-range"] = `bytes ${resolved.start}-${resolved.end}/${size}`;
    headers["content-length"] = String(resolved.end - resolved.start + 1);
    res.writeHead(206, headers).end(entry.body.subarray(resolved.start, resolved.end + 1));
  }

  return { fromNearCache, get, head };
}

/** If-None-Match and If-Modified-Since of a read (an unparsable date is ignored, RFC 9110 13.1.3). */
function conditionsOf(req: IncomingMessage): { ifNoneMatch?: string; ifModifiedSince?: Date } {
  const out: { ifNoneMatch?: string; ifModifiedSince?: Date } = {};
  if (req.headers["if-none-match"] !== undefined) out.ifNoneMatch = req.headers["if-none-match"];
  const ims = req.headers["if-modified-since"];
  const ms = ims === undefined ? NaN : Date.parse(ims);
  if (!Number.isNaN(ms)) out.ifModifiedSince = new Date(ms);
  return out;
}

function metaOf(info: cacheV1.ObjectInfo): ObjectMeta {
  return {
    size: Number(info.size),
    contentType: info.contentType,
    etag: info.etag,
    lastModified: info.lastModified ? timestampDate(info.lastModified) : new Date(NaN),
    metadata: info.metadata,
  };
}

function rangeRequestOf(range: RangeSpec): RangeRequest {
  const n = (v: bigint): number => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v));
  if ("suffixLength" in range) return { suffix: n(range.suffixLength) };
  return range.end === undefined ? { start: n(range.start) } : { start: n(range.start), end: n(range.end) };
}

/** Only the headers a 304 may carry (RFC 9110 15.4.5). */
function notModifiedHeaders(h: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["etag", "last-modified", "cache-status"]) if (typeof h[name] === "string") out[name] = h[name];
  return out;
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve(); // "close" has been emitted already

    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

type GetAnswer = cacheV1.GetObjectResponse;

/** Whether a failed upstream call may go to the next upstream: a failure of the upstream itself, not a deadline. */
function failsOver(err: unknown): boolean {
  return isUpstreamFailure(err) && !isDeadline(err);
}

function isDeadline(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.DeadlineExceeded;
}

/**
 * RFC 9110 13.1.5: If-Range holds when absent, when it is a strong entity-tag
 * equal to the current one (strong comparison: a weak tag never matches), or
 * an HTTP-date equal to the current Last-Modified.
 */
function ifRangeHolds(value: string | string[] | undefined, info: cacheV1.ObjectInfo | undefined): boolean {
  if (value === undefined) return true;
  if (info === undefined || Array.isArray(value)) return false;
  const validator = value.trim();
  if (validator.startsWith('"') || validator.startsWith("W/")) {
    return !validator.startsWith("W/") && !info.etag.startsWith("W/") && validator === info.etag;
  }
  const date = Date.parse(validator);
  if (info.lastModified === undefined || Number.isNaN(date)) return false;
  // Last-Modified is sent in whole seconds: compare with the field value as sent.
  return date === Math.floor(timestampDate(info.lastModified).getTime() / 1000) * 1000;
}
