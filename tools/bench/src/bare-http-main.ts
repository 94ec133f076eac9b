/**
 * The gateway suite's bare node:http baseline in its own process:
 * `node dist/bare-http-main.js --objects=<json>` serves the objects described
 * by the JSON array (path, headers, body size; bodies are `benchBody(size)`)
 * on a loopback port and announces it (child-server.ts).
 */
import { createServer, type OutgoingHttpHeaders } from "node:http";
import { announceReady } from "./child-server.js";
import { benchBody } from "./servers/bare-cache-server.js";
import { bareObjectHandler } from "./servers/bare-http-server.js";

interface ObjectSpec {
  readonly path: string;
  readonly size: number;
  readonly headers: OutgoingHttpHeaders;
}

const json = process.argv.find((a) => a.startsWith("--objects="))?.slice("--objects=".length);
if (json === undefined) throw new Error("usage: bare-http-main.js --objects=<json>");
const specs = JSON.parse(json) as ObjectSpec[];
// node:http's defaults, like the gateway apart from its timeouts (which do not fire under load).
const server = createServer(
  bareObjectHandler(specs.map((s) => ({ path: s.path, headers: s.headers, body: benchBody(s.size) }))),
);
const port = await new Promise<number>((resolve, reject) => {
  server.once("error", reject);
  server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
});
announceReady(port);
