import { TLSSocket } from "node:tls";
import type { PeerCertificate } from "node:tls";

/**
 * The subject CN of a client certificate the TLS handshake verified: what a
 * token file's `client_cn` names. Undefined on plaintext, without a client
 * certificate, or when the certificate was not verified (a server that asks
 * for certificates without requiring them lets unverified ones through with
 * `authorized` false: those never count).
 */
export function verifiedPeerName(socket: unknown): string | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  return commonNameOf(socket.getPeerCertificate());
}

/** A certificate's subject CN; undefined without one, or with several (an ambiguous subject names no one). */
export function commonNameOf(certificate: PeerCertificate | undefined): string | undefined {
  const cn = (certificate?.subject as Record<string, unknown> | undefined)?.["CN"];
  return typeof cn === "string" && cn !== "" ? cn : undefined;
}
