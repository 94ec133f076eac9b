import type * as http from "node:http";
import { createHttpOrHttpsServer, type TransportSecurity } from "@breakwater/server-kit";
import type { GatewayConfig } from "./config.js";
import { gatewayErrors, rawErrorResponse, sendError } from "./http-errors.js";

/** The settings {@link createHardenedServer} reads. */
export type HardeningConfig = Pick<
  GatewayConfig,
  | "GATEWAY_MAX_HEADER_BYTES"
  | "GATEWAY_REQUEST_TIMEOUT"
  | "GATEWAY_HEADERS_TIMEOUT"
  | "GATEWAY_KEEP_ALIVE_TIMEOUT"
  | "MAX_PUT_BYTES"
>;

/**
 * The gateway's node:http server with every hardening against hostile or
 * broken clients in one place: header size and timeouts enforced promptly,
 * half-closed requests still answered, oversized PUTs refused before their
 * body (Expect: 100-continue), malformed requests answered without a crash.
 * `onClientError` is told a label per refused connection ("400", "431", "reset", …).
 * With `security` serving TLS it is node:https (mTLS when required).
 */
export function createHardenedServer(
  config: HardeningConfig,
  listener: http.RequestListener,
  onClientError: (label: string) => void,
  security?: TransportSecurity,
): http.Server {
  const server = createHttpOrHttpsServer(
    security,
    {
      maxHeaderSize: config.GATEWAY_MAX_HEADER_BYTES,
      requestTimeout: config.GATEWAY_REQUEST_TIMEOUT,
      headersTimeout: config.GATEWAY_HEADERS_TIMEOUT,
      keepAliveTimeout: config.GATEWAY_KEEP_ALIVE_TIMEOUT,
      // node:http checks the two timeouts above only this often (default 30 s):
      // without it a 1 s headers timeout lets a slowloris hold a socket for 30 s.
      connectionsCheckingInterval: checkingIntervalMs(config),
    },
    listener,
  );
  // A client may shut down its sending side once its request is out (RFC 9112
  // 9.6 lets it keep reading): by default node:http then aborts the request in
  // flight and the answer is lost. This long-standing (undocumented) switch of
  // node:http's server lets the answer go out, then closes the connection.
  (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  // Expect: 100-continue: refuse an oversized PUT before the client sends it.
  server.on("checkContinue", (req, res) => {
    const length = Number(req.headers["content-length"] ?? 0);
    if (length > config.MAX_PUT_BYTES) {
      res.setHeader("connection", "close");
      sendError(res, gatewayErrors.tooLarge(config.MAX_PUT_BYTES));
      return;
    }
    res.writeContinue();
    server.emit("request", req, res);
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests, oversized headers, timeouts: answer if the socket still can, never crash.
    const failure =
      err.code === "HPE_HEADER_OVERFLOW"
        ? gatewayErrors.headersTooLarge
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? gatewayErrors.requestTimeout
          : gatewayErrors.badRequest;
    onClientError(err.code === "ECONNRESET" ? "reset" : String(failure.status));
    // A response already under way (e.g. a request timeout mid-body) cannot take another status line.
    const answering = (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage?.headersSent === true;
    if (socket.writable && !socket.destroyed && err.code !== "ECONNRESET" && !answering) {
      socket.end(rawErrorResponse(failure));
    } else socket.destroy();
  });
  return server;
}

/** Often enough to enforce the headers and request timeouts within about a quarter of them. */
function checkingIntervalMs(config: HardeningConfig): number {
  const shortest = Math.min(config.GATEWAY_HEADERS_TIMEOUT || Infinity, config.GATEWAY_REQUEST_TIMEOUT || Infinity);
  return Number.isFinite(shortest) ? Math.min(30_000, Math.max(100, Math.floor(shortest / 4))) : 30_000;
}
