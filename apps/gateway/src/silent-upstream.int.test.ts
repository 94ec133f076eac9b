import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "./__fixtures__/stack.js";

const KEYS = Array.from({ length: 8 }, (_, i) => `silent/key-${i}`);

/**
 * A cache-store whose address stopped answering (a killed container whose IP
 * vanished, a lost node) swallows packets instead of refusing them, so the
 * gateway's channel to it never becomes ready and nothing fails fast. Here a
 * TCP listener that accepts and never speaks HTTP/2 stands in for it: grpc-js
 * waits for the server's SETTINGS before a connection counts. Nothing may
 * wait on it for minutes: UPSTREAM_TIMEOUT bounds a GET's first message and a
 * PUT's wait for a connection, and a request whose upstream never connected
 * goes to the next one (round robin sends every other request to it here).
 */
describe("an upstream that never answers", () => {
  let stack: Stack;
  let silent: Server;
  const held: Socket[] = [];
  beforeAll(async () => {
    silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    stack = await startStack({
      cacheStores: 1,
      gatewayEnv: { GATEWAY_CACHE_MAX_BYTES: "0", UPSTREAM_TIMEOUT: "1s", GATEWAY_ROUTING: "round-robin" },
      gatewayUpstreams: (urls) => [`http://127.0.0.1:${port}`, ...urls],
    });
  });
  afterAll(async () => {
    await stack?.stop();
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
  });

  it("every PUT lands (200) through the live replica, none waits much past UPSTREAM_TIMEOUT", async () => {
    let slowestMs = 0;
    for (const key of KEYS) {
      const started = performance.now();
      const res = await fetch(`${stack.base}/${key}`, { method: "PUT", body: key });
      expect(res.status, `${key}: ${await res.text()}`).toBe(200);
      slowestMs = Math.max(slowestMs, performance.now() - started);
    }
    console.log(`slowest PUT with a silent upstream: ${Math.round(slowestMs)} ms (UPSTREAM_TIMEOUT 1 s)`);
    expect(slowestMs).toBeLessThan(15_000); // a breakage guard (minutes without the bound), not the target
  }, 60_000);

  it("every GET answers 200 from the live replica, none waits much past UPSTREAM_TIMEOUT", async () => {
    const slowest = { ms: 0 };
    for (let round = 0; round < 2; round++) {
      for (const key of KEYS) {
        const started = performance.now();
        const res = await fetch(`${stack.base}/${key}`);
        expect(res.status, key).toBe(200);
        expect(await res.text()).toBe(key);
        slowest.ms = Math.max(slowest.ms, performance.now() - started);
      }
    }
    expect(held.length, "the gateway dialled the silent upstream").toBeGreaterThan(0);
    console.log(`slowest GET with a silent upstream: ${Math.round(slowest.ms)} ms (UPSTREAM_TIMEOUT 1 s)`);
    expect(slowest.ms).toBeLessThan(15_000); // a breakage guard (minutes without the bound), not the target
  }, 60_000);
});

/**
 * A replica that stops answering on a connection that stays up (a frozen
 * process, a network cut that sends no FIN): SIGSTOP leaves its sockets open,
 * so the gateway's channel stays READY and only the first-message deadline
 * shows the replica is gone. Reads are idempotent: that deadline hands the
 * read to the next replica (once), instead of answering 504.
 */
describe("a replica that freezes on a live connection", () => {
  let stack: Stack;
  let frozen: number | undefined;
  beforeAll(async () => {
    stack = await startStack({
      cacheStores: 2,
      gatewayEnv: { GATEWAY_CACHE_MAX_BYTES: "0", UPSTREAM_TIMEOUT: "1s", GATEWAY_ROUTING: "round-robin" },
    });
    for (const key of KEYS)
      expect((await fetch(`${stack.base}/${key}`, { method: "PUT", body: key })).status).toBe(200);
  });
  afterAll(async () => {
    if (frozen !== undefined) process.kill(frozen, "SIGCONT");
    await stack?.stop();
  });

  it("every GET answers 200 through the other replica, none waits much past UPSTREAM_TIMEOUT", async () => {
    // Both replicas have answered reads: the gateway holds a live connection to each.
    for (const key of [...KEYS, ...KEYS]) expect((await fetch(`${stack.base}/${key}`)).status).toBe(200);
    frozen = stack.cacheStores[1]!.pid;
    process.kill(frozen, "SIGSTOP");
    let slowestMs = 0;
    for (const key of [...KEYS, ...KEYS]) {
      const started = performance.now();
      const res = await fetch(`${stack.base}/${key}`);
      expect(res.status, `${key}: ${res.status}`).toBe(200);
      expect(await res.text()).toBe(key);
      slowestMs = Math.max(slowestMs, performance.now() - started);
    }
    console.log(`slowest GET with a frozen replica: ${Math.round(slowestMs)} ms (UPSTREAM_TIMEOUT 1 s)`);
    expect(slowestMs).toBeLessThan(15_000); // a breakage guard, not the target
  }, 60_000);
});
