import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ServiceStartError, waitHealthy } from "./wait-healthy.js";

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A /healthz that answers `statuses` in turn, then the last one forever; `answered` lists what it sent. */
async function healthz(...statuses: number[]): Promise<{ url: string; answered: number[] }> {
  const answered: number[] = [];
  const server = http.createServer((_req, res) => {
    res.statusCode = statuses[Math.min(answered.length, statuses.length - 1)]!;
    answered.push(res.statusCode);
    res.end();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`, answered };
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function startError(p: Promise<unknown>): Promise<ServiceStartError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceStartError);
  return err as ServiceStartError;
}

describe("waitHealthy", () => {
  it("resolves once /healthz answers 200", async () => {
    const { url, answered } = await healthz(503, 503, 200);
    await waitHealthy({ service: "gateway", url, timeoutMs: 10_000, intervalMs: 10 });
    // It asked again after each 503 and stopped at the first 200.
    expect(answered).toEqual([503, 503, 200]);
  });

  it("names the service, the URL and the last answer when time runs out", async () => {
    const { url } = await healthz(503);
    // Long enough for several answers even on a loaded machine (the first fetch warms up undici).
    const err = await startError(waitHealthy({ service: "gateway", url, timeoutMs: 1_500, intervalMs: 10 }));
    expect(err.reason).toBe("timeout");
    expect(err.message).toBe(`gateway did not become healthy within 1.5 s (GET ${url}: HTTP 503)`);
  });

  it("says the connection was refused when nothing listens", async () => {
    const url = `http://127.0.0.1:${await closedPort()}/healthz`;
    const err = await startError(waitHealthy({ service: "cache-store", url, timeoutMs: 1_500, intervalMs: 10 }));
    expect(err.message).toContain("connection refused");
  });

  it("stops at once when the process exits", async () => {
    const url = `http://127.0.0.1:${await closedPort()}/healthz`;
    const started = Date.now();
    const exited = Promise.resolve({ code: 1, signal: null });
    const err = await startError(waitHealthy({ service: "cache-store", url, timeoutMs: 10_000, exited }));
    expect(err.reason).toBe("exited");
    expect(err.message).toBe("cache-store exited with code 1 before it became healthy (its output is above)");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("stops when aborted", async () => {
    const url = `http://127.0.0.1:${await closedPort()}/healthz`;
    const signal = AbortSignal.timeout(50);
    const err = await startError(waitHealthy({ service: "gateway", url, timeoutMs: 10_000, signal }));
    expect(err.reason).toBe("aborted");
  });
});
