import type { IncomingMessage, ServerResponse } from "node:http";
import { cacheV1 } from "@breakwater/proto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ifNoneMatchFails } from "@breakwater/cache";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "@breakwater/server-kit";
import { parseObjectPath, BadObjectPathError, type ObjectPath } from "./object-path.js";
import { parseRangeHeader } from "./range-header.js";
import { objectHeaders, userMetadataOf } from "./object-headers.js";
import { sendError, sendUpstreamError } from "./http-errors.js";
import type { UpstreamPool } from "./upstreams.js";

/** Options of the object API. */
export interface ObjectRoutesOptions {
  readonly upstreams: UpstreamPool;
  readonly maxPutBytes: number;
  /** Deadline of metadata calls (HEAD, DELETE, PURGE) to a cache-store. */
  readonly upstreamTimeoutMs: number;
  /** PURGE needs `Authorization: Bearer <token>` when set. */
  readonly adminToken: string;
  readonly logger: Logger;
}

const ALLOW = "GET, HEAD, PUT, DELETE, PURGE";

/**
 * The HTTP object API: `GET|HEAD|PUT|DELETE|PURGE /objects/:bucket/*key`, each a
 * CacheService call over grpc-js, bodies streamed both ways.
 */
export function createObjectRoutes(options: ObjectRoutesOptions) {
  /** Answers the request if it is for /objects/…; false otherwise. */
  return async function handle(req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams): Promise<boolean> {
    let path: ObjectPath | undefined;
    try {
      path = parseObjectPath(pathname);
    } catch (err) {
      if (!(err instanceof BadObjectPathError)) throw err;
      if (req.method === "PUT") res.setHeader("connection", "close"); // do not read a body we refuse
      sendError(res, 400, err.message, "invalid_argument");
      return true;
    }
    if (path === undefined) return false;
    // Aborts the upstream call when the client goes away before the answer is done.
    const aborter = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) aborter.abort();
    });
    const signal = aborter.signal;
    try {
      switch (req.method) {
        case "GET":
          await getObject(req, res, path, signal);
          break;
        case "HEAD":
          await headObject(req, res, path, signal);
          break;
        case "PUT":
          await putObject(req, res, path, aborter);
          break;
        case "DELETE":
          await options.upstreams.pick().cache.deleteObject(path, { signal, timeoutMs: options.upstreamTimeoutMs });
          res.writeHead(204).end();
          break;
        case "PURGE":
          await purge(req, res, path, query.get("prefix") === "1" || query.get("prefix") === "true");
          break;
        default:
          sendError(res, 405, `method ${req.method} is not allowed on objects`, "method_not_allowed", { allow: ALLOW });
      }
    } catch (err) {
      if (signal.aborted && res.destroyed) return true; // the client left; nobody to answer
      if (!(err instanceof ConnectError) || ![Code.NotFound, Code.InvalidArgument, Code.OutOfRange, Code.FailedPrecondition].includes(err.code)) {
        options.logger.warn({ err, method: req.method, bucket: path.bucket, key: path.key }, "object request failed");
      }
      const extra: Record<string, string> = {};
      if (err instanceof ConnectError && err.code === Code.OutOfRange) {
        const size = err.metadata.get("object-size");
        if (size !== null) extra["content-range"] = `bytes */${size}`;
      }
      sendUpstreamError(res, err, extra);
    }
    return true;
  };

  async function getObject(req: IncomingMessage, res: ServerResponse, path: ObjectPath, signal: AbortSignal): Promise<void> {
    let range = parseRangeHeader(req.headers.range);
    // If-Range is not evaluated here; ignoring Range then is what RFC 9110 13.1.5 allows.
    if (range === "ignore" || req.headers["if-range"] !== undefined) range = undefined;
    if (range === "unsatisfiable") {
      const head = await options.upstreams.pick().cache.headObject(path, { signal, timeoutMs: options.upstreamTimeoutMs });
      sendError(res, 416, "the range is not satisfiable", "out_of_range", { "content-range": `bytes */${head.info?.size ?? 0n}` });
      return;
    }
    const ims = httpDate(req.headers["if-modified-since"]);
    const request: Parameters<UpstreamPool["all"][number]["cache"]["getObject"]>[0] = {
      bucket: path.bucket,
      key: path.key,
      ifNoneMatch: req.headers["if-none-match"] ?? "",
    };
    if (range !== undefined) request.range = "suffixLength" in range ? { suffixLength: range.suffixLength } : range;
    if (ims !== undefined) request.ifModifiedSince = timestampFromDate(ims);
    let first = true;
    for await (const msg of options.upstreams.pick().cache.getObject(request, { signal })) {
      if (first) {
        first = false;
        const info = msg.info ?? new Error("upstream answered without object info");
        if (info instanceof Error) throw info;
        const headers = objectHeaders(info, msg.cacheStatus);
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
        }
      }
      if (msg.chunk.byteLength > 0 && !res.write(msg.chunk)) await drained(res);
    }
    res.end();
  }

  async function headObject(req: IncomingMessage, res: ServerResponse, path: ObjectPath, signal: AbortSignal): Promise<void> {
    const head = await options.upstreams.pick().cache.headObject(path, { signal, timeoutMs: options.upstreamTimeoutMs });
    const info = head.info!;
    const headers = objectHeaders(info, head.cacheStatus);
    const inm = req.headers["if-none-match"];
    const ims = httpDate(req.headers["if-modified-since"]);
    const lastModified = info.lastModified ? Number(info.lastModified.seconds) * 1000 : undefined;
    // RFC 9110 13.2.2: If-None-Match first; If-Modified-Since only without it.
    const notModified =
      inm !== undefined ? ifNoneMatchFails(inm, info.etag) : ims !== undefined && lastModified !== undefined && lastModified <= ims.getTime();
    if (notModified) {
      res.writeHead(304, notModifiedHeaders(headers)).end();
      return;
    }
    headers["content-length"] = String(info.size);
    res.writeHead(200, headers).end();
  }

  async function putObject(req: IncomingMessage, res: ServerResponse, path: ObjectPath, aborter: AbortController): Promise<void> {
    const declared = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
    if (declared !== undefined && declared > options.maxPutBytes) {
      res.setHeader("connection", "close"); // refuse before reading the body
      sendError(res, 413, `the body is larger than the limit of ${options.maxPutBytes} bytes`, "too_large");
      return;
    }
    let received = 0;
    let tooLarge = false;
    const maxPutBytes = options.maxPutBytes;
    async function* messages(): AsyncIterable<cacheV1.PutObjectRequest> {
      yield {
        $typeName: "breakwater.cache.v1.PutObjectRequest",
        part: {
          case: "header",
          value: {
            $typeName: "breakwater.cache.v1.PutObjectHeader",
            bucket: path.bucket,
            key: path.key,
            contentType: req.headers["content-type"] ?? "application/octet-stream",
            metadata: userMetadataOf(req.headers),
            ...(declared === undefined ? {} : { contentLength: BigInt(declared) }),
            ifMatch: req.headers["if-match"] ?? "",
            ifNoneMatch: req.headers["if-none-match"] ?? "",
          },
        },
      };
      for await (const chunk of req as AsyncIterable<Buffer>) {
        received += chunk.byteLength;
        if (received > maxPutBytes) {
          tooLarge = true;
          aborter.abort();
          throw new Error("body over the limit");
        }
        yield { $typeName: "breakwater.cache.v1.PutObjectRequest", part: { case: "chunk", value: chunk } };
      }
    }
    try {
      const put = await options.upstreams.pick().cache.putObject(messages(), { signal: aborter.signal });
      const body = JSON.stringify({ bucket: path.bucket, key: path.key, etag: put.etag, size: Number(put.size) });
      res.writeHead(200, { etag: put.etag, "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
    } catch (err) {
      if (tooLarge) {
        res.setHeader("connection", "close");
        sendError(res, 413, `the body is larger than the limit of ${maxPutBytes} bytes`, "too_large");
        return;
      }
      throw err;
    }
  }

  async function purge(req: IncomingMessage, res: ServerResponse, path: ObjectPath, prefix: boolean): Promise<void> {
    if (options.adminToken !== "" && req.headers.authorization !== `Bearer ${options.adminToken}`) {
      sendError(res, 401, "PURGE needs Authorization: Bearer <admin token>", "unauthenticated", { "www-authenticate": "Bearer" });
      return;
    }
    // Every upstream holds its own copies: purge them all.
    const answers = await Promise.all(
      options.upstreams.all.map((u) =>
        u.cache.invalidateCache({ bucket: path.bucket, key: path.key, prefix }, { timeoutMs: options.upstreamTimeoutMs }),
      ),
    );
    const purged = answers.reduce((n, a) => n + Number(a.invalidatedEntries), 0);
    const body = JSON.stringify({ bucket: path.bucket, key: path.key, prefix, purged });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  }
}

/** Only the headers a 304 may carry (RFC 9110 15.4.5). */
function notModifiedHeaders(h: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["etag", "last-modified", "cache-status"]) if (typeof h[name] === "string") out[name] = h[name];
  return out;
}

function httpDate(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
