/**
 * The one place that decides how a gRPC client of this process dials an
 * address: by the URL's scheme, and for a bare `host:port` (a member named by
 * the coordinator, an advertised address) by whether the process has TLS
 * configured.
 */
import * as grpc from "@grpc/grpc-js";
import type { TransportSecurity } from "./transport-security.js";

let processSecurity: TransportSecurity | undefined;

/**
 * Makes `security` the credentials of every gRPC client this process opens
 * from now on (the TLS variables are per process, like its certificate);
 * undefined goes back to plaintext-unless-https. Each app's `build` calls it.
 */
export function useClientTransportSecurity(security: TransportSecurity | undefined): void {
  processSecurity = security;
}

/** Whether a client of this process dials `address` with TLS. */
export function dialsWithTls(address: string): boolean {
  if (/^https:\/\//i.test(address)) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) return false; // http:// and any other scheme: plaintext
  return processSecurity !== undefined; // host:port: as the process is configured
}

/**
 * The channel credentials for `address`: plaintext for http://; for https://
 * (and host:port when TLS is configured) TLS trusting TLS_CA_FILE and
 * presenting this process's certificate, or the system's roots when the
 * process has no TLS variables.
 */
export function channelCredentialsFor(address: string): grpc.ChannelCredentials {
  if (!dialsWithTls(address)) return grpc.credentials.createInsecure();
  return processSecurity?.channelCredentials() ?? systemRootsCredentials();
}

let systemRoots: grpc.ChannelCredentials | undefined;
function systemRootsCredentials(): grpc.ChannelCredentials {
  // One object: grpc-js shares subchannels between channels whose credentials are equal.
  systemRoots ??= grpc.credentials.createSsl();
  return systemRoots;
}
