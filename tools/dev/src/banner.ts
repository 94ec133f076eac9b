import type { DevPorts } from "./dev-config.js";
import type { Endpoint } from "./stack-plan.js";

/** First line of the banner: tests and scripts wait for it. */
export const readyLine = "breakwater dev stack is up";

/** Options of `renderBanner`. */
export interface BannerOptions {
  readonly endpoints: readonly Endpoint[];
  readonly ports: DevPorts;
  readonly bucket: string;
  /** Where the embedded S3 and the coordinator keep their data. */
  readonly dataDir: string;
  /** True when BW_TOKENS_FILE or BW_ADMIN_TOKEN is set for the services. */
  readonly secured?: boolean;
  /** BW_DEV_TLS: the files curl and grpcurl need (paths as the operator should type them). */
  readonly mtls?: { readonly ca: string; readonly cert: string; readonly key: string; readonly adminToken: string };
}

/**
 * What `npm start` prints once every service is healthy: where each one
 * answers, and commands to paste that exercise the stack (curl for the
 * gateway and Connect JSON, grpcurl for the gRPC ports). The commands use the
 * ports actually chosen.
 */
export function renderBanner(options: BannerOptions): string {
  if (options.mtls) return renderSecureBanner(options, options.mtls);
  const { ports, bucket } = options;
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  const cache = `127.0.0.1:${ports.cacheStoreGrpc}`;
  const coordinator = `127.0.0.1:${ports.coordinatorGrpc}`;
  const coordinatorHttp = `http://127.0.0.1:${ports.coordinatorHttp}`;
  const rows: string[][] = [
    ["service", "protocol", "address"],
    ...options.endpoints.map((e) => [e.service, e.protocol, e.address]),
  ];
  return [
    "",
    `${readyLine} (data in ${options.dataDir})`,
    "",
    ...table(rows).map((l) => `  ${l}`),
    "",
    `Live fleet page: ${coordinatorHttp}/`,
    "",
    "Try:",
    `  curl -X PUT --data-binary @README.md ${gateway}/objects/${bucket}/hello.txt`,
    `  curl -i ${gateway}/objects/${bucket}/hello.txt`,
    `  grpcurl -plaintext ${cache} list`,
    `  grpcurl -plaintext -d '{"bucket":"${bucket}","key":"hello.txt"}' ` +
      `${cache} breakwater.cache.v1.CacheService/HeadObject`,
    `  grpcurl -plaintext ${coordinator} breakwater.breaker.v1.BreakerCoordinator/ListBreakers`,
    `  curl -s -H 'content-type: application/json' -d '{}' ` +
      `${coordinatorHttp}/breakwater.breaker.v1.BreakerCoordinator/ListBreakers`,
    "",
    ...(options.secured === true
      ? ["Tokens are on: send -H 'Authorization: Bearer <token>' (docs/operations.md \"Security\")."]
      : [
          "Security is off: every port listens on 127.0.0.1 only and needs no token (protected mode).",
          "To turn it on: BW_TOKENS_FILE=tokens.yaml (or BW_ADMIN_TOKEN=<token>) npm start, then send",
          "  -H 'Authorization: Bearer <token>' (docs/operations.md \"Security\"; npm run -s token:hash -- <token>).",
        ]),
    "",
    "More recipes: docs/operations.md. Ctrl-C stops everything.",
    "",
  ].join("\n");
}

/** The banner of BW_DEV_TLS=1: the same recipes with the CA, the operator's certificate and the admin token. */
function renderSecureBanner(options: BannerOptions, mtls: NonNullable<BannerOptions["mtls"]>): string {
  const { ports, bucket } = options;
  const gateway = `https://127.0.0.1:${ports.gateway}`;
  const cache = `127.0.0.1:${ports.cacheStoreGrpc}`;
  const coordinatorHttp = `https://127.0.0.1:${ports.coordinatorHttp}`;
  const bearer = `Bearer $(cat ${mtls.adminToken})`;
  const curl = `curl --cacert ${mtls.ca} --cert ${mtls.cert} --key ${mtls.key} -H "Authorization: ${bearer}"`;
  const grpcurl = `grpcurl -cacert ${mtls.ca} -cert ${mtls.cert} -key ${mtls.key} -H "authorization: ${bearer}"`;
  const rows: string[][] = [
    ["service", "protocol", "address"],
    ...options.endpoints.map((e) => [e.service, e.protocol, e.address]),
  ];
  return [
    "",
    `${readyLine} (data in ${options.dataDir}; mTLS and tokens on)`,
    "",
    ...table(rows).map((l) => `  ${l}`),
    "",
    `Every port needs a client certificate from ${mtls.ca} and a token: the admin token is in ${mtls.adminToken}.`,
    `Live fleet page: ${coordinatorHttp}/ (the browser needs ${mtls.cert} imported to connect)`,
    "",
    "Try:",
    `  ${curl} -X PUT --data-binary @README.md ${gateway}/objects/${bucket}/hello.txt`,
    `  ${curl} -i ${gateway}/objects/${bucket}/hello.txt`,
    `  ${grpcurl} -d '{"bucket":"${bucket}","key":"hello.txt"}' ${cache} breakwater.cache.v1.CacheService/HeadObject`,
    `  ${curl} -H 'content-type: application/json' -d '{}' ` +
      `${coordinatorHttp}/breakwater.breaker.v1.BreakerCoordinator/ListBreakers`,
    "",
    'More recipes: docs/operations.md ("TLS and mTLS", "Security"). Ctrl-C stops everything.',
    "",
  ].join("\n");
}

/** Left-aligned columns two spaces apart, with a rule under the header. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: readonly string[]): string =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join("  ")
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)];
}
