import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { eventually, MiB } from "@breakwater/testkit";
import { startStack, statusOf, type Stack } from "./__fixtures__/stack.js";

const LIMIT = 2 * MiB;

/** A raw HTTP/1.1 connection: what was written back so far, and whether the server closed it. */
function openConnection(port: number): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let closed = false;
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    socket.on("close", () => (closed = true));
    socket.on("error", () => (closed = true));
    socket.once("connect", () => resolve({ socket, received: () => text, closed: () => closed }));
    socket.once("error", reject);
  });
}

/**
 * `Expect: 100-continue` (RFC 9110 10.1.1), which curl sends for bodies over
 * 1 MiB: under MAX_PUT_BYTES the client is told to go on and the PUT
 * succeeds; over it the gateway answers 413 from the declared Content-Length
 * alone, before any of the body is sent.
 */
describe("PUT with Expect: 100-continue", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ gatewayEnv: { MAX_PUT_BYTES: String(LIMIT) } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("under the limit: 100 Continue first, then the body goes and the PUT answers 200", async () => {
    const body = randomBytes(1.5 * MiB);
    const conn = await openConnection(stack.gateways[0]!.httpPort);
    conn.socket.write(
      "PUT /objects/default/continue/ok.bin HTTP/1.1\r\nHost: gw\r\nContent-Type: application/octet-stream\r\n" +
        `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
    // Nothing of the body is sent until the interim answer arrives.
    await eventually(() => conn.received().includes("\r\n\r\n"), { what: "an interim answer" });
    expect(conn.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    conn.socket.end(body);
    await eventually(() => conn.closed(), { what: "the final answer" });
    const final = conn.received().slice(conn.received().indexOf("\r\n\r\n") + 4);
    expect(statusOf(final)).toBe(200);
    expect(JSON.parse(final.slice(final.indexOf("\r\n\r\n") + 4))).toMatchObject({ size: body.length });

    const stored = Buffer.from(await (await fetch(`${stack.base}/continue/ok.bin`)).arrayBuffer());
    expect(stored.equals(body)).toBe(true);
  });

  it.each([
    ["with Expect: 100-continue", "Expect: 100-continue\r\n"],
    ["without Expect", ""],
  ])(
    "over the limit, %s: 413 from the declared length, no 100, with no body byte sent",
    async (_name, expectHeader) => {
      const conn = await openConnection(stack.gateways[0]!.httpPort);
      const key = `continue/too-large-${expectHeader === "" ? "plain" : "expect"}.bin`;
      // Headers only: the body would be LIMIT + 1 bytes, and none of it is ever written.
      conn.socket.write(
        `PUT /objects/default/${key} HTTP/1.1\r\nHost: gw\r\nContent-Length: ${LIMIT + 1}\r\n${expectHeader}\r\n`,
      );
      await eventually(() => conn.closed(), { what: "the gateway closing the connection after its 413" });
      const text = conn.received();
      expect(statusOf(text)).toBe(413);
      expect(text).not.toContain("100 Continue");
      expect(text.toLowerCase()).toContain("connection: close");
      expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4))).toMatchObject({ code: "too_large" });
      expect((await fetch(`${stack.base}/${key}`)).status).toBe(404);
    },
  );
});
