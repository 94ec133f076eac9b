import { readFileSync } from "node:fs";
import * as https from "node:https";

/** An answer read whole. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** A request made with `client`'s certificate. */
export type MtlsRequest = (
  url: string,
  options?: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number },
) => Promise<Answer>;

/** An HTTPS client presenting a certificate and trusting one CA (the services ask for mTLS). */
export function mtlsClient(files: { ca: string; cert: string; key: string }): MtlsRequest {
  const tls = { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) };
  return (url, options = {}) =>
    new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          ...tls,
          agent: false,
          method: options.method ?? "GET",
          headers: options.headers,
          timeout: options.timeoutMs ?? 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${url}: no answer within ${options.timeoutMs ?? 10_000} ms`)));
      req.on("error", reject);
      req.end(options.body);
    });
}
