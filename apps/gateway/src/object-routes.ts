import type { IncomingMessage, ServerResponse } from "node:http";
import type { cacheV1 } from "@breakwater/proto";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectivityState } from "@grpc/grpc-js";
import type { Access, Logger } from "@breakwater/server-kit";
import { isCacheError } from "@breakwater/cache";
import { parseObjectPath, type ObjectPath } from "./object-path.js";
import { userMetadataOf } from "./object-headers.js";
import { createObjectReads } from "./object-reads.js";
import { failureOf, gatewayErrors, sendError } from "./http-errors.js";
import type { NearCache } from "./near-cache.js";
import { admitObjectRequest, objectRequirement } from "./object-access.js";
import type { RateLimits } from "./rate-limits.js";
import {
  routeOf,
  upstreamsFor,
  watchConnect,
  type ConnectWatch,
  type Routing,
  type Upstream,
  type UpstreamPool,
  type UpstreamRoute,
} from "./upstreams.js";

/** Options of the object API. */
export interface ObjectRoutesOptions {
  readonly upstreams: UpstreamPool;
  /** GATEWAY_ROUTING: to each key's owner (then its fallbacks), or round robin. */
  readonly routing: Routing;
  /** Called for each CacheService call an object request makes, with how it reached its replica. */
  readonly onUpstreamCall?: ((route: UpstreamRoute) => void) | undefined;
  readonly maxPutBytes: number;
  /** Deadline of metadata calls (HEAD, DELETE, PURGE) to a cache-store. */
  readonly upstreamTimeoutMs: number;
  /** Who may do what (BW_TOKENS_FILE, BW_ADMIN_TOKEN, GATEWAY_ANONYMOUS_READ). */
  readonly access: Access;
  /** Per-caller rate limits; absent: none. */
  readonly rateLimits?: RateLimits | undefined;
  /** The gateway's near-cache; absent when it is configured off. */
  readonly nearCache?: NearCache | undefined;
  readonly logger: Logger;
}

const ALLOW = "GET, HEAD, PUT, DELETE, PURGE";

/** gRPC codes that are the caller's doing (or a plain answer), not worth a warning. */
const EXPECTED = [
  Code.NotFound,
  Code.InvalidArgument,
  Code.OutOfRange,
  Code.FailedPrecondition,
  Code.ResourceExhausted,
];

/**
 * The HTTP object API: `GET|HEAD|PUT|DELETE|PURGE /objects/:bucket/*key`, each a
 * CacheService call over grpc-js, bodies streamed both ways; small objects
 * are also answered from the near-cache.
 */
export function createObjectRoutes(options: ObjectRoutesOptions) {
  const { nearCache, routing } = options;
  const counted = options.onUpstreamCall ?? (() => undefined);
  const reads = createObjectReads(options);

  /**
   * Answers the request if it is for /objects/…; false otherwise. `pathname`
   * is the raw one. Answers refused paths and near-cache hits at once (a
   * boolean); what needs a cache-store settles later (a promise).
   */
  return function handle(
    req: IncomingMessage,
    res: ServerResponse,
    pathname: string,
    query: URLSearchParams,
  ): boolean | Promise<boolean> {
    const prefix = req.method === "PURGE" && (query.get("prefix") === "1" || query.get("prefix") === "true");
    let path: ObjectPath | undefined;
    try {
      path = parseObjectPath(pathname, { keyMayBeEmpty: prefix });
    } catch (err) {
      if (!isCacheError(err, "invalid-argument")) throw err;
      if (req.method === "PUT") res.setHeader("connection", "close"); // do not read a body we refuse
      sendError(res, failureOf(err));
      return true;
    }
    if (path === undefined) return false;
    const need = objectRequirement(req.method, path);
    if (need !== undefined) {
      const caller = admitObjectRequest(options.access, req, res, need, options.logger);
      if (caller === undefined) return true;
      if (options.rateLimits?.admit(req, res, caller, prefix) === false) return true;
    }
    // A near-cache hit makes no upstream call, so it skips the per-call
    // machinery of `viaUpstream`: the AbortController and its close listener
    // were a third of the gateway's CPU per hit (docs/benchmarks.md, suite
    // gateway), and a promise per hit is no longer made either.
    if ((req.method === "GET" || req.method === "HEAD") && reads.fromNearCache(req, res, path)) return true;
    return viaUpstream(req, res, path, prefix);
  };

  /**
   * An object request the near-cache did not answer: a CacheService
   * call, cancelled if the client leaves first (or a 405).
   */
  async function viaUpstream(
    req: IncomingMessage,
    res: ServerResponse,
    path: ObjectPath,
    prefix: boolean,
  ): Promise<boolean> {
    // Aborts the upstream call when the client goes away before the answer is done.
    const aborter = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) aborter.abort();
    });
    const signal = aborter.signal;
    try {
      switch (req.method) {
        case "GET":
          await reads.get(req, res, path, signal);
          break;
        case "HEAD":
          await reads.head(req, res, path, signal);
          break;
        case "PUT":
          await putObject(req, res, path);
          break;
        case "DELETE":
          await deleteObject(res, path, signal);
          break;
        case "PURGE":
          await purge(res, path, prefix);
          break;
        default:
          sendError(res, gatewayErrors.methodNotAllowed(req.method, "on objects"), { allow: ALLOW });
      }
    } catch (err) {
      if (signal.aborted && res.destroyed) return true; // the client left; nobody to answer
      // Not an upstream's answer but the gateway's own failure: the server's 500, not a 502 "upstream error".
      if (!(err instanceof ConnectError)) throw err;
      if (!EXPECTED.includes(err.code)) {
        options.logger.warn({ err, method: req.method, bucket: path.bucket, key: path.key }, "object request failed");
      }
      const extra: Record<string, string> = {};
      if (err instanceof ConnectError && err.code === Code.OutOfRange) {
        const size = err.metadata.get("object-size");
        if (size !== null) extra["content-range"] = `bytes */${size}`;
      }
      // A failed PUT leaves the body unread: do not keep the connection for it.
      if (req.method === "PUT" && !req.complete) res.setHeader("connection", "close");
      sendError(res, failureOf(err), extra);
    } finally {
      // One line per request a cache-store answered (debug): inside a traced request it carries the trace id.
      if (options.logger.isLevelEnabled("debug")) {
        options.logger.debug(
          { method: req.method, bucket: path.bucket, key: path.key, status: res.statusCode },
          "object request answered upstream",
        );
      }
    }
    return true;
  }

  async function putObject(req: IncomingMessage, res: ServerResponse, path: ObjectPath): Promise<void> {
    const rawLength = req.headers["content-length"];
    const declared = rawLength === undefined ? undefined : Number(rawLength);
    if (declared !== undefined && declared > options.maxPutBytes) {
      res.setHeader("connection", "close"); // refuse before reading the body
      sendError(res, gatewayErrors.tooLarge(options.maxPutBytes));
      return;
    }
    const maxPutBytes = options.maxPutBytes;
    const header: cacheV1.PutObjectHeader = {
      $typeName: "breakwater.cache.v1.PutObjectHeader",
      bucket: path.bucket,
      key: path.key,
      contentType: req.headers["content-type"] ?? "application/octet-stream",
      metadata: userMetadataOf(req.headers),
      ...(declared === undefined ? {} : { contentLength: BigInt(declared) }),
      ifMatch: req.headers["if-match"] ?? "",
      ifNoneMatch: req.headers["if-none-match"] ?? "",
    };
    const message = (part: cacheV1.PutObjectRequest["part"]): cacheV1.PutObjectRequest => ({
      $typeName: "breakwater.cache.v1.PutObjectRequest",
      part,
    });
    /**
     * Ends an upload that must not complete. A cancelled client stream can look
     * complete to a grpc-js server: its request iterator ends normally, before
     * the call's "cancelled" event (seen with grpc-js 1.14), so a cancel alone
     * may store the bytes sent so far as the whole object. A second header is
     * a message CacheService must refuse (INVALID_ARGUMENT: only the first
     * message may be a header), in order, before the end of the body: the put
     * fails before storage commits anything, whatever the transport does.
     */
    const poison = message({ case: "header", value: header });
    let received = 0;
    let tooLarge = false;
    let cutShort = false;
    let bodyRead = false;
    /**
     * The upload to one replica. Its body is read only once that replica's
     * channel has connected: a replica that refused the connection has had
     * no byte of it, so the write may go to the next in the key's order.
     */
    async function* messages(connect: ConnectWatch, abandoned: Promise<void>): AsyncIterable<cacheV1.PutObjectRequest> {
      yield message({ case: "header", value: header });
      await Promise.race([connect.connected, abandoned]);
      if (!connect.wasConnected()) return; // the call failed before connecting: leave the body for the next
      bodyRead = true;
      try {
        for await (const chunk of req as AsyncIterable<Buffer>) {
          received += chunk.byteLength;
          if (received > maxPutBytes) {
            tooLarge = true;
            yield poison;
            return;
          }
          yield message({ case: "chunk", value: chunk });
        }
      } catch {
        cutShort = true; // the client went away mid-body ("aborted")
      }
      if (cutShort || !req.complete) {
        cutShort = true;
        yield poison;
      }
    }
    // Cancelling mid-body could store a truncated object (see `poison`): only
    // once the body is whole may a client that left cancel the call.
    const call = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished && req.complete) call.abort();
    });
    let refusal: unknown;
    for (const writer of upstreamsFor(options.upstreams, routing, path.bucket, path.key)) {
      const connect = watchConnect(writer);
      let abandon!: () => void;
      const abandoned = new Promise<void>((resolve) => (abandon = resolve));
      // A replica whose address swallows packets never connects: after UPSTREAM_TIMEOUT the write,
      // whose body is still unread, goes to the next replica in the key's order.
      const deadline = new AbortController();
      const timer = setTimeout(() => connect.wasConnected() || deadline.abort(), options.upstreamTimeoutMs);
      const attempt = AbortSignal.any([call.signal, deadline.signal]);
      try {
        counted(routeOf(writer, routing));
        const put = await writer.cache.putObject(messages(connect, abandoned), { signal: attempt });
        nearCache?.invalidate(path.bucket, path.key, false);
        await dropFromOtherUpstreams(writer, path);
        const body = JSON.stringify({ bucket: path.bucket, key: path.key, etag: put.etag, size: Number(put.size) });
        res
          .writeHead(200, {
            etag: put.etag,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          })
          .end(body);
        return;
      } catch (err) {
        abandon();
        // Refused, or not connected within UPSTREAM_TIMEOUT (the channel may have connected since the timer
        // fired; the body is still unread either way): the next replica in the key's order may take the write.
        if (!bodyRead && !call.signal.aborted && (deadline.signal.aborted || !connect.wasConnected())) {
          refusal = deadline.signal.aborted ? unconnected(writer, options.upstreamTimeoutMs) : err;
          continue;
        }
        // The object may or may not have changed: this gateway's copy must go either way.
        nearCache?.invalidate(path.bucket, path.key, false);
        if (!tooLarge && !cutShort) await dropFromOtherUpstreams(writer, path);
        if (tooLarge) {
          res.setHeader("connection", "close");
          sendError(res, gatewayErrors.tooLarge(maxPutBytes));
          return;
        }
        if (cutShort) {
          res.destroy(); // nobody is left to answer
          return;
        }
        throw err;
      } finally {
        clearTimeout(timer);
        connect.stop();
      }
    }
    throw refusal; // every replica refused before the body: nothing was written
  }

  /**
   * DELETE goes to the key's owner; to the next replica in its order only when
   * the owner refused it unconnected (it cannot have acted on it). Whatever
   * the outcome, copies elsewhere may be stale now: they go before the answer.
   */
  async function deleteObject(res: ServerResponse, path: ObjectPath, signal: AbortSignal): Promise<void> {
    let refusal: unknown;
    for (const writer of upstreamsFor(options.upstreams, routing, path.bucket, path.key)) {
      const connect = watchConnect(writer);
      try {
        counted(routeOf(writer, routing));
        await writer.cache.deleteObject(path, { signal, timeoutMs: options.upstreamTimeoutMs });
      } catch (err) {
        if (!signal.aborted && !connect.wasConnected()) {
          refusal = err;
          continue;
        }
        nearCache?.invalidate(path.bucket, path.key, false);
        await dropFromOtherUpstreams(writer, path);
        throw err;
      } finally {
        connect.stop();
      }
      nearCache?.invalidate(path.bucket, path.key, false);
      await dropFromOtherUpstreams(writer, path);
      res.writeHead(204).end();
      return;
    }
    nearCache?.invalidate(path.bucket, path.key, false);
    throw refusal;
  }

  /**
   * Reads may reach another upstream than the writer (round robin, or a
   * fallback when the owner fails), so after a write through one upstream the
   * others must not answer from an older copy: they drop it before the client hears
   * the write is done (read-your-writes through this gateway). Replicas that
   * are each other's peers would hear of it a moment later anyway; this makes
   * it ordered. An upstream whose breaker is open is skipped (reads avoid it
   * too), and so is one whose last attempt to connect failed (it could not be
   * told; it hears of the write from its peers once back). One still dialling
   * is waited for, up to UPSTREAM_TIMEOUT: an idle channel reconnecting to a
   * live replica looks the same as one dialling a vanished address, and only
   * waiting keeps the first's copy from being read after the answer. A failure
   * here does not fail the write, which storage has.
   */
  async function dropFromOtherUpstreams(writer: Upstream, path: ObjectPath): Promise<void> {
    const others = options.upstreams.all.filter(
      (u) => u.url !== writer.url && u.breaker?.state() !== "open" && !failingToConnect(u),
    );
    const results = await Promise.allSettled(
      // localOnly: the writer published the write already; a purge published here would reach the writer
      // (its peers follow each other) and drop the copy it has just written through.
      others.map((u) =>
        u.cache.invalidateCache(
          { bucket: path.bucket, key: path.key, prefix: false, localOnly: true },
          { timeoutMs: options.upstreamTimeoutMs },
        ),
      ),
    );
    results.forEach((r, i) => {
      if (r.status === "rejected") {
        options.logger.warn(
          { err: r.reason, upstream: others[i]!.url, bucket: path.bucket, key: path.key },
          "could not drop a written key from another cache-store",
        );
      }
    });
  }

  async function purge(res: ServerResponse, path: ObjectPath, prefix: boolean): Promise<void> {
    // This gateway's copies first, then every upstream's: each holds its own.
    const near = nearCache?.invalidate(path.bucket, path.key, prefix) ?? 0;
    // Every upstream is asked and waited for: a failure answers 503 (retry the purge, it is idempotent)
    // only once every reachable copy is gone, so the 503 never comes before the purges that did work.
    const answers = await Promise.allSettled(
      options.upstreams.all.map((u) =>
        u.cache.invalidateCache(
          { bucket: path.bucket, key: path.key, prefix },
          { timeoutMs: options.upstreamTimeoutMs },
        ),
      ),
    );
    const failed = answers.find((a) => a.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    const purged = answers.reduce((n, a) => n + (a.status === "fulfilled" ? Number(a.value.invalidatedEntries) : 0), 0);
    const body = JSON.stringify({ bucket: path.bucket, key: path.key, prefix, purged, gateway_purged: near });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  }
}

/** What a write answers when its replica never connected within UPSTREAM_TIMEOUT (504). */
function unconnected(writer: Upstream, ms: number): ConnectError {
  return new ConnectError(`cache-store ${writer.url} did not connect within ${ms} ms`, Code.DeadlineExceeded);
}

/** The upstream's channel is in TRANSIENT_FAILURE: its last attempt to connect failed. */
function failingToConnect(upstream: Upstream): boolean {
  return upstream.cache.channel.getChannel().getConnectivityState(false) === connectivityState.TRANSIENT_FAILURE;
}
