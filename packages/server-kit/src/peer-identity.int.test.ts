import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { makeTestPki, type TestCertificate, type TestPki } from "@breakwater/testkit";
import { verifiedPeerName } from "./peer-identity.js";

/**
 * Only a certificate the handshake verified names a caller. A server that asks
 * for certificates without requiring them (rejectUnauthorized false) still
 * completes the handshake with a foreign one: its CN must not count.
 */
describe("verifiedPeerName", () => {
  let pki: TestPki;
  let server: tls.Server;
  let seen: ((name: string | undefined) => void) | undefined;

  beforeAll(async () => {
    pki = await makeTestPki();
    server = tls.createServer(
      {
        cert: readFileSync(pki.server.cert),
        key: readFileSync(pki.server.key),
        ca: readFileSync(pki.ca),
        requestCert: true,
        rejectUnauthorized: false, // let unverified certificates through, to see them refused here
      },
      (socket) => {
        seen?.(verifiedPeerName(socket));
        socket.end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await pki?.remove();
  });

  async function nameSeenFor(cert: TestCertificate | undefined): Promise<string | undefined> {
    const named = new Promise<string | undefined>((resolve) => (seen = resolve));
    const socket = tls.connect({
      port: (server.address() as AddressInfo).port,
      host: "127.0.0.1",
      servername: "localhost",
      ca: readFileSync(pki.ca),
      ...(cert === undefined ? {} : { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }),
    });
    socket.on("error", () => undefined);
    socket.resume();
    try {
      return await named;
    } finally {
      socket.destroy();
    }
  }

  it("answers the subject CN of a certificate from the trusted CA", async () => {
    expect(await nameSeenFor(pki.client)).toBe("client");
  });

  it("answers nothing for a certificate from another CA, an expired one, or none", async () => {
    expect(await nameSeenFor(pki.otherServer)).toBeUndefined();
    expect(await nameSeenFor(pki.expired)).toBeUndefined();
    expect(await nameSeenFor(undefined)).toBeUndefined();
  });

  it("answers nothing on a plain socket", () => {
    expect(verifiedPeerName({})).toBeUndefined();
  });
});
