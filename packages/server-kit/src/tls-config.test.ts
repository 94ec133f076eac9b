import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { makeTestPki, type TestPki } from "@breakwater/testkit";
import { ConfigError, loadConfig } from "./config.js";
import { loadTlsSettings, tlsConfig } from "./tls-config.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});
afterAll(async () => {
  await pki?.remove();
});

const settingsOf = (vars: Record<string, string>) => loadTlsSettings(loadConfig(tlsConfig, vars));
function problemsOf(vars: Record<string, string>): readonly string[] {
  try {
    settingsOf(vars);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("TLS variables", () => {
  it("none set: plaintext (undefined), as before TLS", () => {
    expect(settingsOf({})).toBeUndefined();
  });

  it("reads the certificate, key and CA once, checked", () => {
    const settings = settingsOf({
      TLS_CERT_FILE: pki.server.cert,
      TLS_KEY_FILE: pki.server.key,
      TLS_CA_FILE: pki.ca,
      TLS_CLIENT_AUTH: "require",
    })!;
    expect(settings.requireClientCert).toBe(true);
    expect(settings.material.identity?.cert.toString()).toMatch(/BEGIN CERTIFICATE/);
    expect(settings.material.ca?.toString()).toMatch(/BEGIN CERTIFICATE/);
  });

  it("a CA alone is a client-only setting (plaintext ports, TLS to https:// URLs)", () => {
    const settings = settingsOf({ TLS_CA_FILE: pki.ca })!;
    expect(settings.material.identity).toBeUndefined();
  });

  it("a certificate without its key, or a key without its certificate, is named", () => {
    expect(problemsOf({ TLS_CERT_FILE: pki.server.cert })).toEqual(["TLS_CERT_FILE is set: TLS_KEY_FILE must be too"]);
    expect(problemsOf({ TLS_KEY_FILE: pki.server.key })).toEqual(["TLS_KEY_FILE is set: TLS_CERT_FILE must be too"]);
  });

  it("mTLS needs a CA and a certificate", () => {
    const problems = problemsOf({ TLS_CLIENT_AUTH: "require" });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^TLS_CLIENT_AUTH=require needs TLS_CA_FILE/);
    expect(problems[1]).toMatch(/^TLS_CLIENT_AUTH=require needs TLS_CERT_FILE and TLS_KEY_FILE/);
  });

  it("an unreadable file names its variable and path", () => {
    const problems = problemsOf({ TLS_CERT_FILE: "/nonexistent/x.crt", TLS_KEY_FILE: pki.server.key });
    expect(problems).toEqual(['TLS_CERT_FILE="/nonexistent/x.crt" cannot be read: ENOENT']);
  });

  it("a key that does not match the certificate, or a CA file that is not PEM, is named", async () => {
    expect(problemsOf({ TLS_CERT_FILE: pki.server.cert, TLS_KEY_FILE: pki.client.key })[0]).toMatch(
      /^TLS_CERT_FILE \/ TLS_KEY_FILE are not a usable PEM certificate and matching key/,
    );
    const garbage = `${pki.dir}/garbage.pem`;
    await writeFile(garbage, "not a certificate\n");
    expect(problemsOf({ TLS_CA_FILE: garbage })[0]).toMatch(/^TLS_CA_FILE is not a usable PEM CA bundle/);
  });

  it("TLS_CLIENT_AUTH takes none or require", () => {
    expect(() => settingsOf({ TLS_CLIENT_AUTH: "optional" })).toThrow(/TLS_CLIENT_AUTH="optional": must be one of/);
  });
});
