/**
 * The transport-security variables every service reads, and their checks
 * across fields and files: one set for the gRPC port, the HTTP port and the
 * clients a process opens (docs/operations.md "TLS and mTLS").
 */
import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { ConfigError, env, type ConfigOf } from "./config.js";

/** TLS_CERT_FILE, TLS_KEY_FILE, TLS_CA_FILE, TLS_CLIENT_AUTH, TLS_RELOAD_INTERVAL. */
export const tlsConfig = {
  TLS_CERT_FILE: env.string(
    "",
    "PEM certificate (chain) of this process: served on its ports and presented as a client (empty: plaintext ports)",
  ),
  TLS_KEY_FILE: env.string("", "PEM private key of TLS_CERT_FILE"),
  TLS_CA_FILE: env.string(
    "",
    "PEM CA bundle trusted for the servers this process calls (https:// URLs) and, under mTLS, for its clients " +
      "(empty: the system's roots)",
  ),
  TLS_CLIENT_AUTH: env.oneOf(
    ["none", "require"],
    "none",
    "require: mTLS, a client without a certificate from TLS_CA_FILE is refused at the handshake",
  ),
  TLS_RELOAD_INTERVAL: env.durationMs(
    5_000,
    "how often the certificate, key and CA files are checked for a replacement (no restart needed)",
  ),
};

/** The variables of {@link tlsConfig}, read. */
export type TlsConfig = ConfigOf<typeof tlsConfig>;

/** The PEM contents of the TLS files at one moment. */
export interface TlsMaterial {
  /** Certificate chain and key, when TLS_CERT_FILE is set. */
  readonly identity?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** TLS_CA_FILE's bundle, when set. */
  readonly ca?: Buffer | undefined;
}

/** Validated transport-security settings: undefined means plaintext everywhere (as before TLS). */
export interface TlsSettings {
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly caFile: string | undefined;
  /** mTLS on this process's ports. */
  readonly requireClientCert: boolean;
  readonly reloadIntervalMs: number;
  /** The files as read and checked at start. */
  readonly material: TlsMaterial;
}

/**
 * Checks the TLS variables together and reads their files once: a certificate
 * without its key, mTLS without a CA or without a certificate, a file that
 * cannot be read or parsed, are each a line of a ConfigError naming the
 * variable. Answers undefined when no TLS variable is set.
 */
export function loadTlsSettings(config: TlsConfig): TlsSettings | undefined {
  const problems: string[] = [];
  const settings = tlsSettingsOf(config, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

/** {@link loadTlsSettings} for a loader that gathers every problem: adds them to `problems`. */
export function tlsSettingsOf(config: TlsConfig, problems: string[]): TlsSettings | undefined {
  const before = problems.length;
  const certFile = config.TLS_CERT_FILE || undefined;
  const keyFile = config.TLS_KEY_FILE || undefined;
  const caFile = config.TLS_CA_FILE || undefined;
  const requireClientCert = config.TLS_CLIENT_AUTH === "require";
  if (certFile === undefined && keyFile === undefined && caFile === undefined && !requireClientCert) return undefined;
  if (certFile !== undefined && keyFile === undefined) problems.push("TLS_CERT_FILE is set: TLS_KEY_FILE must be too");
  if (keyFile !== undefined && certFile === undefined) problems.push("TLS_KEY_FILE is set: TLS_CERT_FILE must be too");
  if (requireClientCert && caFile === undefined) {
    problems.push("TLS_CLIENT_AUTH=require needs TLS_CA_FILE (the CA whose client certificates are accepted)");
  }
  if (requireClientCert && certFile === undefined) {
    problems.push("TLS_CLIENT_AUTH=require needs TLS_CERT_FILE and TLS_KEY_FILE (the ports must serve TLS)");
  }
  if (config.TLS_RELOAD_INTERVAL <= 0) problems.push("TLS_RELOAD_INTERVAL must be above 0");
  const read = (name: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(path)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
      return undefined;
    }
  };
  const cert = read("TLS_CERT_FILE", certFile);
  const key = read("TLS_KEY_FILE", keyFile);
  const ca = read("TLS_CA_FILE", caFile);
  const material: TlsMaterial = { identity: cert && key ? { cert, key } : undefined, ca };
  if (problems.length === before) {
    const invalid = tlsMaterialProblem(material);
    if (invalid !== undefined) problems.push(invalid);
  }
  if (problems.length > before) return undefined;
  return Object.freeze({
    certFile,
    keyFile,
    caFile,
    requireClientCert,
    reloadIntervalMs: config.TLS_RELOAD_INTERVAL,
    material,
  });
}

/**
 * Why OpenSSL would refuse this material (a file that is not PEM, a key that
 * does not match the certificate), naming the variables; undefined when it is usable.
 */
export function tlsMaterialProblem(material: TlsMaterial): string | undefined {
  if (material.ca !== undefined) {
    try {
      // createSecureContext skips what is not PEM without a word: parse the first certificate, then the bundle.
      new X509Certificate(material.ca);
      createSecureContext({ ca: material.ca });
    } catch (err) {
      return `TLS_CA_FILE is not a usable PEM CA bundle: ${(err as Error).message}`;
    }
  }
  if (material.identity !== undefined) {
    try {
      createSecureContext({ cert: material.identity.cert, key: material.identity.key });
    } catch (err) {
      const why = (err as Error).message;
      return `TLS_CERT_FILE / TLS_KEY_FILE are not a usable PEM certificate and matching key: ${why}`;
    }
  }
  return undefined;
}
