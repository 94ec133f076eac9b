import { createServer } from "node:http";

/** An OTLP/HTTP endpoint that takes every export and keeps nothing: the traced side's collector. */
export interface OtlpSink {
  /** "http://127.0.0.1:<port>", for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  /** Export requests and bytes received so far. */
  readonly exports: () => { requests: number; bytes: number };
  close(): Promise<void>;
}

/**
 * Answers each export 200 with an empty body (an empty
 * ExportTraceServiceResponse) without decoding it: a collector's cost is not
 * the gateway's, and the bench process shares the cores with the servers.
 */
export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on("data", (c: Buffer) => (bytes += c.byteLength));
    req.on("end", () => {
      requests++;
      res.writeHead(200, { "content-type": "application/x-protobuf", "content-length": 0 }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    exports: () => ({ requests, bytes }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
