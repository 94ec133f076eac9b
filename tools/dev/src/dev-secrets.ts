/**
 * BW_DEV_TLS=1 npm start: a throwaway CA, one certificate for the services
 * (server and client use: mTLS everywhere), one for the operator's curl and
 * grpcurl, and a token file with an admin token and the services' own token,
 * all under `<data>/secure/`. Made once with openssl and reused while the
 * certificates are valid for at least another day.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const validDays = 30;

/** A certificate and its key, as PEM file paths. */
export interface DevCertificate {
  readonly cert: string;
  readonly key: string;
}

/** What BW_DEV_TLS gives the stack and prints for the operator. */
export interface DevSecrets {
  readonly dir: string;
  /** TLS_CA_FILE of every service, and what curl/grpcurl trust. */
  readonly ca: string;
  /** TLS_CERT_FILE / TLS_KEY_FILE of every service. */
  readonly service: DevCertificate;
  /** The operator's client certificate. */
  readonly operator: DevCertificate;
  /** BW_TOKENS_FILE of every service. */
  readonly tokensFile: string;
  /** A file holding the admin token (read, write, purge, admin). */
  readonly adminTokenFile: string;
  /** BW_TOKEN of every service: read, write and purge (a gateway's calls, a replica's forwarding, sessions). */
  readonly serviceToken: string;
}

/** The files of `dir`, whether made yet or not. */
export function devSecretPaths(dir: string): Omit<DevSecrets, "serviceToken"> {
  const file = (name: string): string => path.join(dir, name);
  return {
    dir,
    ca: file("ca.crt"),
    service: { cert: file("service.crt"), key: file("service.key") },
    operator: { cert: file("operator.crt"), key: file("operator.key") },
    tokensFile: file("tokens.yaml"),
    adminTokenFile: file("admin.token"),
  };
}

/** Makes the secrets in `dir` unless valid ones are there; answers them. */
export async function ensureDevSecrets(dir: string): Promise<DevSecrets> {
  const paths = devSecretPaths(dir);
  const serviceTokenFile = path.join(dir, "service.token");
  if (!(await usable([paths.ca, paths.service.cert, paths.operator.cert], [serviceTokenFile, paths.tokensFile]))) {
    await make(paths, serviceTokenFile);
  }
  return { ...paths, serviceToken: (await readFile(serviceTokenFile, "utf8")).trim() };
}

async function usable(certs: readonly string[], files: readonly string[]): Promise<boolean> {
  if (![...certs, ...files].every((f) => existsSync(f))) return false;
  try {
    // -checkend: exits 1 when the certificate expires within that many seconds.
    for (const cert of certs) await run("openssl", ["x509", "-checkend", "86400", "-noout", "-in", cert]);
    return true;
  } catch {
    return false;
  }
}

async function make(paths: Omit<DevSecrets, "serviceToken">, serviceTokenFile: string): Promise<void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const caKey = path.join(paths.dir, "ca.key");
  const newKey = (key: string): string[] => [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    key,
  ];
  await run("openssl", [
    "req",
    "-x509",
    ...newKey(caKey),
    "-out",
    paths.ca,
    "-days",
    String(validDays),
    "-subj",
    "/CN=breakwater dev CA",
  ]);
  const issue = async (cert: DevCertificate, name: string, extensions: string): Promise<void> => {
    const csr = `${cert.key}.csr`;
    const ext = `${cert.key}.cnf`;
    await writeFile(ext, extensions);
    await run("openssl", ["req", "-new", ...newKey(cert.key), "-out", csr, "-subj", `/CN=${name}`]);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      paths.ca,
      "-CAkey",
      caKey,
      "-CAcreateserial",
      "-out",
      cert.cert,
      "-days",
      String(validDays),
      "-extfile",
      ext,
    ]);
  };
  const usage = "basicConstraints = CA:FALSE\nkeyUsage = digitalSignature\n";
  await issue(
    paths.service,
    "breakwater dev service",
    `${usage}subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\n`,
  );
  await issue(paths.operator, "breakwater dev operator", `${usage}extendedKeyUsage = clientAuth\n`);
  const admin = randomBytes(24).toString("base64url");
  const service = randomBytes(24).toString("base64url");
  const sha256 = (token: string): string => createHash("sha256").update(token).digest("hex");
  await writeFile(
    paths.tokensFile,
    [
      "# Made by BW_DEV_TLS=1 npm start: the tokens are in admin.token and service.token beside this file.",
      "tokens:",
      "  - name: dev-admin",
      `    sha256: ${sha256(admin)}`,
      "    permissions: [read, write, purge, admin]",
      "  - name: dev-services",
      `    sha256: ${sha256(service)}`,
      "    permissions: [read, write, purge]",
      "",
    ].join("\n"),
  );
  await writeFile(paths.adminTokenFile, `${admin}\n`, { mode: 0o600 });
  await writeFile(serviceTokenFile, `${service}\n`, { mode: 0o600 });
}
