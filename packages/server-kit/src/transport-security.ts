/**
 * A process's TLS in one object: the gRPC server credentials, the node:https
 * options of its HTTP ports and the gRPC channel credentials of its clients,
 * all following the certificate files as they are replaced (rotation without
 * restart; docs/decisions.md "Certificate rotation").
 */
import { readFile } from "node:fs/promises";
import { rootCertificates } from "node:tls";
import type * as tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { tlsMaterialProblem, type TlsMaterial, type TlsSettings } from "./tls-config.js";

/** What a reload reports. */
export interface TransportSecurityEvents {
  /** New certificate material was read and is now used for new connections. */
  readonly onReload?: () => void;
  /** Changed files could not be used (the previous material stays); told once per distinct problem. */
  readonly onReloadFailed?: (problem: string) => void;
}

/** A process's transport security (see the file comment). */
export interface TransportSecurity {
  readonly settings: TlsSettings;
  /** True when the ports serve TLS (TLS_CERT_FILE is set). */
  readonly servesTls: boolean;
  /** gRPC port credentials: TLS (mTLS under TLS_CLIENT_AUTH=require) following the files; plaintext without a cert. */
  serverCredentials(): grpc.ServerCredentials;
  /** node:https options of an HTTP port (certificate, key, CA, client-certificate policy) as of now. */
  httpsOptions(): tls.TlsOptions;
  /** Keeps a TLS server's certificates following the files (new connections only; open ones keep theirs). */
  follow(server: tls.Server): void;
  /** gRPC channel credentials: TLS trusting TLS_CA_FILE (or the system's roots), presenting this process's cert. */
  channelCredentials(): grpc.ChannelCredentials;
  /** Reads the files now; true when new material was taken (tests and SIGHUP-like uses). */
  reloadNow(): Promise<boolean>;
  /** Stops watching the files. */
  close(): void;
}

/**
 * Builds the transport security of `settings`. The files are polled every
 * TLS_RELOAD_INTERVAL; a change is taken once the files read the same on two
 * polls in a row and OpenSSL accepts them (a certificate written before its
 * key, or half a file, is never served).
 */
export function createTransportSecurity(
  settings: TlsSettings,
  events: TransportSecurityEvents = {},
): TransportSecurity {
  let current = settings.material;
  let candidate: TlsMaterial | undefined;
  let lastProblem: string | undefined;
  const provider = new MaterialProvider(current);
  const followed = new Set<tls.Server>();

  const contextOf = (m: TlsMaterial): tls.SecureContextOptions => ({
    cert: m.identity?.cert,
    key: m.identity?.key,
    ca: m.ca,
  });

  async function reloadNow(): Promise<boolean> {
    const read = await readMaterial(settings);
    if (read === undefined || sameMaterial(read, current)) {
      candidate = undefined;
      return false;
    }
    // Debounce: a replacement is taken when two reads in a row agree.
    if (candidate === undefined || !sameMaterial(read, candidate)) {
      candidate = read;
      return false;
    }
    candidate = undefined;
    const problem = tlsMaterialProblem(read);
    if (problem !== undefined) {
      if (problem !== lastProblem) events.onReloadFailed?.(problem);
      lastProblem = problem;
      return false;
    }
    lastProblem = undefined;
    current = read;
    provider.update(current);
    for (const server of followed) server.setSecureContext({ ...contextOf(current), ...clientAuthOf(settings) });
    events.onReload?.();
    return true;
  }

  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    void reloadNow().finally(() => (polling = false));
  }, settings.reloadIntervalMs);
  timer.unref();

  let serverCredentials: grpc.ServerCredentials | undefined;
  let channelCredentials: grpc.ChannelCredentials | undefined;
  return {
    settings,
    servesTls: settings.material.identity !== undefined,
    serverCredentials() {
      if (settings.material.identity === undefined) return grpc.ServerCredentials.createInsecure();
      // grpc-js 1.14's function passes its first argument as the identity provider and its second as the CA
      // provider (its parameter names say the reverse); one provider answers both here. Without a CA
      // provider no client certificate is asked for.
      serverCredentials ??= grpc.experimental.createCertificateProviderServerCredentials(
        provider,
        settings.requireClientCert ? provider : null,
        settings.requireClientCert,
      );
      return serverCredentials;
    },
    httpsOptions: () => ({ ...contextOf(current), ...clientAuthOf(settings) }),
    follow: (server) => void followed.add(server),
    channelCredentials() {
      channelCredentials ??= grpc.experimental.createCertificateProviderChannelCredentials(
        provider.forClients,
        settings.material.identity === undefined ? null : provider,
      );
      return channelCredentials;
    },
    reloadNow,
    close: () => {
      clearInterval(timer);
      followed.clear();
    },
  };
}

function clientAuthOf(settings: TlsSettings): tls.TlsOptions {
  return { requestCert: settings.requireClientCert, rejectUnauthorized: settings.requireClientCert };
}

/**
 * grpc-js's certificate provider over the material in hand: the identity
 * (certificate and key) and the CA bundle of the ports. `forClients` answers
 * the CA a client trusts: TLS_CA_FILE, else the system's roots.
 */
class MaterialProvider implements grpc.experimental.CertificateProvider {
  private material: TlsMaterial;
  private readonly caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  private readonly identityListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  private readonly clientCaListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  readonly forClients: grpc.experimental.CertificateProvider;

  constructor(material: TlsMaterial) {
    this.material = material;
    const clientCa = (): grpc.experimental.CaCertificateUpdate => ({
      caCertificate: this.material.ca ?? Buffer.from(rootCertificates.join("\n")),
    });
    const listeners = this.clientCaListeners;
    this.forClients = {
      addCaCertificateListener: (l) => (listeners.add(l), later(l, clientCa())),
      removeCaCertificateListener: (l) => void listeners.delete(l),
      addIdentityCertificateListener: () => {},
      removeIdentityCertificateListener: () => {},
    };
  }

  update(material: TlsMaterial): void {
    this.material = material;
    for (const l of this.caListeners) later(l, this.ca());
    for (const l of this.identityListeners) later(l, this.identity());
    const ca = { caCertificate: material.ca ?? Buffer.from(rootCertificates.join("\n")) };
    for (const l of this.clientCaListeners) later(l, ca);
  }

  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    later(listener, this.ca());
  }
  removeCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    later(listener, this.identity());
  }
  removeIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
  }

  private ca(): grpc.experimental.CaCertificateUpdate | null {
    return this.material.ca === undefined ? null : { caCertificate: this.material.ca };
  }
  private identity(): grpc.experimental.IdentityCertificateUpdate | null {
    const id = this.material.identity;
    return id === undefined ? null : { certificate: id.cert, privateKey: id.key };
  }
}

/**
 * Tells a listener on the next tick, as grpc-js's own file watcher does: its
 * server credentials add their provider listener before the server's watcher,
 * so a synchronous answer would reach nobody and the port would drop every connection.
 */
function later<T>(listener: (update: T) => void, update: T): void {
  process.nextTick(listener, update);
}

async function readMaterial(settings: TlsSettings): Promise<TlsMaterial | undefined> {
  try {
    const [cert, key, ca] = await Promise.all([
      settings.certFile === undefined ? undefined : readFile(settings.certFile),
      settings.keyFile === undefined ? undefined : readFile(settings.keyFile),
      settings.caFile === undefined ? undefined : readFile(settings.caFile),
    ]);
    return { identity: cert && key ? { cert, key } : undefined, ca };
  } catch {
    return undefined; // a file mid-replacement (renamed away): the next poll reads it
  }
}

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  const same = (x: Buffer | undefined, y: Buffer | undefined): boolean =>
    x === undefined || y === undefined ? x === y : x.equals(y);
  return same(a.identity?.cert, b.identity?.cert) && same(a.identity?.key, b.identity?.key) && same(a.ca, b.ca);
}
