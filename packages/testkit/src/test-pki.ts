import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A certificate and its key, as PEM files. */
export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
}

/** Certificates made at run time by {@link makeTestPki} (nothing is committed). */
export interface TestPki {
  /** The directory everything is in; removed by `remove()`. */
  readonly dir: string;
  /** The CA the services trust (TLS_CA_FILE). */
  readonly ca: string;
  /** A service's certificate (localhost and 127.0.0.1; server and client use): TLS_CERT_FILE / TLS_KEY_FILE. */
  readonly server: TestCertificate;
  /** A second service certificate from the same CA (a rotation's new certificate). */
  readonly serverNext: TestCertificate;
  /** An ops client's certificate from the same CA. */
  readonly client: TestCertificate;
  /** A CA nobody trusts, and a certificate from it (same names as `server`). */
  readonly otherCa: string;
  readonly otherServer: TestCertificate;
  /** A certificate from the trusted CA whose validity ended yesterday. */
  readonly expired: TestCertificate;
  /**
   * Issues another certificate from the trusted CA (localhost and 127.0.0.1, plus `dnsNames`: container names);
   * `namesOnly`: DNS names alone, no IP address (a client dialling an IP cannot verify it by that IP).
   */
  issue(
    name: string,
    dnsNames?: readonly string[],
    options?: { readonly namesOnly?: boolean },
  ): Promise<TestCertificate>;
  remove(): Promise<void>;
}

/**
 * Makes a throwaway PKI in a temporary directory with /usr/bin/openssl:
 * a CA, service and client certificates it signed, an unrelated CA with a
 * certificate of its own, and an expired certificate. P-256 keys: fast to make.
 */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "bw-pki-"));
  const path = (name: string): string => join(dir, name);
  const extensions = path("extensions.cnf");
  await writeFile(
    extensions,
    [
      "subjectAltName = DNS:localhost, IP:127.0.0.1",
      "basicConstraints = CA:FALSE",
      "keyUsage = digitalSignature",
      "extendedKeyUsage = serverAuth, clientAuth",
      "",
    ].join("\n"),
  );
  const makeCa = async (name: string): Promise<string> => {
    await openssl(
      ["req", "-x509", ...newKey(path(`${name}.key`)), "-out", path(`${name}.crt`), "-days", "2"],
      `/CN=breakwater test ${name}`,
    );
    return path(`${name}.crt`);
  };
  const issueFrom = async (
    ca: string,
    name: string,
    days = 2,
    dnsNames: readonly string[] = [],
    namesOnly = false,
  ): Promise<TestCertificate> => {
    const csr = path(`${name}.csr`);
    const extfile = dnsNames.length === 0 && !namesOnly ? extensions : path(`${name}.cnf`);
    if (extfile !== extensions) {
      const names = ["localhost", ...dnsNames].map((n) => `DNS:${n}`).join(", ");
      const base = await readFile(extensions, "utf8");
      await writeFile(
        extfile,
        base.replace("DNS:localhost, IP:127.0.0.1", namesOnly ? names : `${names}, IP:127.0.0.1`),
      );
    }
    await openssl(["req", "-new", ...newKey(path(`${name}.key`)), "-out", csr], `/CN=${name}`);
    await openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      path(`${ca}.crt`),
      "-CAkey",
      path(`${ca}.key`),
      "-CAcreateserial",
      "-days",
      String(days),
      "-extfile",
      extfile,
      "-out",
      path(`${name}.crt`),
    ]);
    return { cert: path(`${name}.crt`), key: path(`${name}.key`) };
  };
  const ca = await makeCa("ca");
  const otherCa = await makeCa("other-ca");
  return {
    dir,
    ca,
    server: await issueFrom("ca", "server"),
    serverNext: await issueFrom("ca", "server-next"),
    client: await issueFrom("ca", "client"),
    otherCa,
    otherServer: await issueFrom("other-ca", "other-server"),
    // openssl 3.0 signs -days -1 as "valid until a day ago".
    expired: await issueFrom("ca", "expired", -1),
    issue: (name, dnsNames, options) => issueFrom("ca", name, 2, dnsNames, options?.namesOnly === true),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

function newKey(keyFile: string): string[] {
  return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile];
}

async function openssl(args: string[], subject?: string): Promise<void> {
  await run("/usr/bin/openssl", subject === undefined ? args : [...args, "-subj", subject], { timeout: 10_000 });
}
