import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "@breakwater/server-kit";
import { build, loadGatewayConfig, type Gateway } from "./server.js";
import type { UpstreamPool } from "./upstreams.js";

/** What a leak would look like: an internal address, a file path, a stack frame. */
const INTERNALS = "connect ECONNREFUSED 10.9.8.7:50051 at /srv/breakwater/apps/gateway/dist/upstreams.js:42:7";

/**
 * The 500 path: an unexpected error inside the gateway (not an upstream's
 * answer) is answered 500 with a JSON error that names nothing internal.
 * No request through the HTTP surface of a healthy stack makes the gateway's
 * own code fail, so this builds the gateway in-process (`build()`) with an
 * upstream pool that fails in ways a real one does not.
 */
describe("an unexpected internal error", () => {
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.shutdown();
    gateway = undefined;
  });

  async function start(upstreams: UpstreamPool): Promise<string> {
    const config = loadGatewayConfig({
      GATEWAY_PORT: "0",
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_CACHE_MAX_BYTES: "0",
      SHUTDOWN_GRACE_MS: "100",
    });
    gateway = build(config, { logger: createLogger({ service: "gateway", level: "silent" }), upstreams });
    const { port } = await gateway.listen();
    return `http://127.0.0.1:${port}`;
  }

  /** A pool whose every operation throws a plain Error carrying internal detail. */
  function failingPool(): UpstreamPool {
    const fail = (): never => {
      throw new TypeError(INTERNALS);
    };
    return {
      get all(): never {
        return fail();
      },
      get ownership(): never {
        return fail();
      },
      pick: fail,
      order: fail,
      setMembers: fail,
      ready: () => Promise.reject(new Error(INTERNALS)),
      close: () => undefined,
    };
  }

  async function expectInternal(res: Response): Promise<void> {
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("application/json");
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "internal error", code: "internal" });
    expect(text).not.toMatch(/10\.9\.8\.7|ECONNREFUSED|\/srv\/|TypeError/);
  }

  it("/readyz whose upstream check throws: 500, JSON, no internals", async () => {
    const base = await start(failingPool());
    await expectInternal(await fetch(`${base}/readyz`));
  });

  it.each(["GET", "DELETE", "PURGE"])(
    "%s of an object when the gateway's own code throws: 500, not an upstream 502",
    async (method) => {
      const base = await start(failingPool());
      await expectInternal(await fetch(`${base}/objects/default/some/key`, { method }));
      // The gateway is fine afterwards.
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    },
  );
});
