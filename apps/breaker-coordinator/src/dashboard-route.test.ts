import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as http from "node:http";
import { dashboardRoute } from "./dashboard-route.js";

/** The page's files over a bare HTTP server: types, the CSP, revalidation, and nothing outside the allow-list. */
describe("dashboard route", () => {
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    const route = dashboardRoute();
    server = http.createServer(async (req, res) => {
      if (!(await route(req, res))) {
        res.writeHead(418);
        res.end();
      }
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it("serves the page at / and /dashboard with a same-origin-only CSP", async () => {
    for (const path of ["/", "/dashboard", "/dashboard/"]) {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await res.text()).toContain('<script type="module" src="/dashboard/main.js">');
    }
  });

  it("serves scripts and styles with their types, and answers 304 to a matching ETag", async () => {
    const js = await fetch(`${base}/dashboard/main.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("no-cache");
    const etag = js.headers.get("etag")!;
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${base}/dashboard/main.js`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    const css = await fetch(`${base}/dashboard/fleet.css`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("answers 404 for files that are not the page's, and leaves other paths to the next route", async () => {
    expect((await fetch(`${base}/dashboard/nope.js`)).status).toBe(404);
    // Sent as written (fetch would resolve the dots before sending).
    expect(await rawStatus(base, "/dashboard/../package.json")).toBe(404);
    expect(await rawStatus(base, "/dashboard/..%2fsrc%2fserver.ts")).toBe(404);
    expect((await fetch(`${base}/metrics`)).status).toBe(418);
    expect((await fetch(`${base}/dashboard`, { method: "POST" })).status).toBe(418);
  });
});

function rawStatus(base: string, path: string): Promise<number | undefined> {
  return new Promise((done, fail) => {
    const req = http.get(base + "/", { path }, (res) => {
      res.resume();
      done(res.statusCode);
    });
    req.on("error", fail);
  });
}
