import type { Logger } from "pino";
import { useClientTransportSecurity } from "./client-credentials.js";
import type { TlsSettings } from "./tls-config.js";
import { createTransportSecurity, type TransportSecurity } from "./transport-security.js";

/**
 * An app's TLS from its checked settings: the transport security its ports
 * are given, made the credentials of every gRPC client the process opens, with
 * reloads logged. Undefined settings: plaintext, as before TLS. Pass the result
 * to `createServiceServer` (which closes it on shutdown) or close it yourself.
 */
export function startTransportSecurity(
  settings: TlsSettings | undefined,
  logger: Logger,
): TransportSecurity | undefined {
  const security =
    settings === undefined
      ? undefined
      : createTransportSecurity(settings, {
          onReload: () =>
            logger.info({ files: filesOf(settings) }, "TLS certificates reloaded: new connections use them"),
          onReloadFailed: (problem) =>
            logger.error(
              { files: filesOf(settings), problem },
              "TLS files changed but cannot be used: kept the old ones",
            ),
        });
  useClientTransportSecurity(security);
  return security;
}

function filesOf(settings: TlsSettings): Record<string, string | undefined> {
  return { cert: settings.certFile, key: settings.keyFile, ca: settings.caFile };
}
