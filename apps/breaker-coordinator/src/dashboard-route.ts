import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { HttpRoute } from "@breakwater/server-kit";

/** The page's files, beside src/ and dist/ alike: served as written, no build step. */
const assetsDir = new URL("../dashboard/", import.meta.url);

const contentTypes: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/**
 * Same origin only: the page loads its own scripts and styles and talks to
 * this port; no inline code, no frames, no form posts elsewhere.
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

function loadAsset(name: string): Asset {
  const body = readFileSync(new URL(name, assetsDir));
  const ext = name.slice(name.lastIndexOf(".") + 1);
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
  return { body, contentType: contentTypes[ext]!, etag };
}

/**
 * The live fleet page at `/` and `/dashboard`, its files under
 * `/dashboard/<file>`. Files are read once at start; the browser revalidates
 * them on every load (ETag, `no-cache`), so a new build is picked up at once.
 */
export function dashboardRoute(): HttpRoute {
  // Only the page's own kinds of file are served; nothing is looked up from the request's path.
  const names = readdirSync(assetsDir).filter((name) => contentTypes[name.slice(name.lastIndexOf(".") + 1)]);
  const assets = new Map(names.map((name) => [name, loadAsset(name)]));
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = (req.url ?? "/").split("?", 1)[0]!;
    let name: string | undefined;
    if (path === "/" || path === "/dashboard" || path === "/dashboard/") name = "index.html";
    else if (path.startsWith("/dashboard/")) name = path.slice("/dashboard/".length);
    else return false;
    const asset = assets.get(name);
    if (asset === undefined) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
      res.end(`no such file: ${path}\n`);
      return true;
    }
    const headers = {
      "content-type": asset.contentType,
      "content-security-policy": contentSecurityPolicy,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
      etag: asset.etag,
    };
    if (req.headers["if-none-match"] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    res.writeHead(200, { ...headers, "content-length": asset.body.length });
    res.end(req.method === "HEAD" ? undefined : asset.body);
    return true;
  };
}
