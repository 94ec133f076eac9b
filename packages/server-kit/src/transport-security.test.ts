import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { copyFile, readFile } from "node:fs/promises";
import { makeTestPki, type TestPki } from "@breakwater/testkit";
import { loadTlsSettings } from "./tls-config.js";
import { createTransportSecurity, type TransportSecurity } from "./transport-security.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});
afterAll(async () => {
  await pki?.remove();
});

/**
 * The reload rule, driven by hand through `reloadNow` (the poll timer is an
 * hour apart here): new material is taken on the second read that agrees,
 * and only when OpenSSL accepts it.
 */
describe("transport security: when replaced files are taken", () => {
  let cert: string;
  let key: string;
  let security: TransportSecurity;
  let problems: string[];
  let reloads: number;
  beforeEach(async () => {
    const name = `unit-${Math.random().toString(36).slice(2)}`;
    cert = `${pki.dir}/${name}.crt`;
    key = `${pki.dir}/${name}.key`;
    await copyFile(pki.server.cert, cert);
    await copyFile(pki.server.key, key);
    problems = [];
    reloads = 0;
    security = createTransportSecurity(
      loadTlsSettings({
        TLS_CERT_FILE: cert,
        TLS_KEY_FILE: key,
        TLS_CA_FILE: "",
        TLS_CLIENT_AUTH: "none",
        TLS_RELOAD_INTERVAL: 3_600_000,
      })!,
      { onReload: () => reloads++, onReloadFailed: (p) => problems.push(p) },
    );
    return () => security.close();
  });
  const served = (): Promise<boolean> =>
    readFile(pki.serverNext.cert).then((next) => next.equals(security.httpsOptions().cert as Buffer));

  it("unchanged files: nothing happens", async () => {
    expect(await security.reloadNow()).toBe(false);
    expect(await security.reloadNow()).toBe(false);
    expect(reloads).toBe(0);
  });

  it("a replacement is taken on the second read that agrees", async () => {
    await copyFile(pki.serverNext.cert, cert);
    await copyFile(pki.serverNext.key, key);
    expect(await security.reloadNow()).toBe(false); // seen once
    expect(await served()).toBe(false);
    expect(await security.reloadNow()).toBe(true); // the same again: taken
    expect(await served()).toBe(true);
    expect(reloads).toBe(1);
    expect(await security.reloadNow()).toBe(false);
  });

  it("files still changing between reads are not taken until they settle", async () => {
    await copyFile(pki.serverNext.cert, cert); // the certificate first…
    expect(await security.reloadNow()).toBe(false);
    await copyFile(pki.serverNext.key, key); // …then its key
    expect(await security.reloadNow()).toBe(false); // differs from the first read: seen once more
    expect(problems).toEqual([]);
    expect(await security.reloadNow()).toBe(true);
    expect(await served()).toBe(true);
  });

  it("a certificate left without its key keeps the old pair and is reported once", async () => {
    await copyFile(pki.serverNext.cert, cert);
    for (let i = 0; i < 4; i++) expect(await security.reloadNow()).toBe(false);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^TLS_CERT_FILE \/ TLS_KEY_FILE are not a usable/);
    expect((await readFile(pki.server.cert)).equals(security.httpsOptions().cert as Buffer)).toBe(true);
  });
});
