import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";

/** An object the baseline answers: its path and the headers the gateway sends with it. */
export interface BareHttpObject {
  /** Request path, e.g. "/objects/default/bench/1k.bin". */
  readonly path: string;
  readonly body: Buffer;
  /** Everything but Content-Length, which is the body's size. */
  readonly headers: OutgoingHttpHeaders;
}

/**
 * The gateway suite's lower baseline: a node:http request handler that
 * answers GET of known paths with the same bytes and headers as the gateway
 * (Content-Type, ETag, Last-Modified, Accept-Ranges, Cache-Status), straight
 * from memory. No routing, parsing, upstream or metrics: what node:http itself
 * costs per request. Anything else is a 404.
 */
export function bareObjectHandler(
  objects: readonly BareHttpObject[],
): (req: IncomingMessage, res: ServerResponse) => void {
  // Headers built once per object, as the gateway's near-cache keeps its copies ready.
  const byPath = new Map(
    objects.map((o) => [
      o.path,
      { body: o.body, headers: { ...o.headers, "content-length": String(o.body.byteLength) } },
    ]),
  );
  return (req, res) => {
    const o = req.method === "GET" ? byPath.get(req.url ?? "") : undefined;
    if (o === undefined) {
      res.writeHead(404, { "content-length": "0" }).end();
      return;
    }
    res.writeHead(200, o.headers).end(o.body);
  };
}
