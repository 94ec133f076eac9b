import { describe, expect, it } from "vitest";
import { nginxCacheConfig } from "./nginx-cache-proxy.js";

describe("nginxCacheConfig", () => {
  const conf = nginxCacheConfig({
    port: 18080,
    origin: "127.0.0.1:9000",
    directory: "/tmp/bench-nginx-x",
    workerProcesses: 1,
  });

  it("proxies /objects/:bucket/*key to the S3 server path-style and caches 200s for 10 minutes", () => {
    expect(conf).toMatch(/listen 127\.0\.0\.1:18080;/);
    expect(conf).toMatch(/server 127\.0\.0\.1:9000;/);
    expect(conf).toMatch(/rewrite \^\/objects\/\(\.\*\)\$ \/\$1 break;\s+proxy_pass http:\/\/s3;/);
    expect(conf).toMatch(/proxy_cache_path "\/tmp\/bench-nginx-x\/cache" levels=1:2 keys_zone=objects:10m/);
    expect(conf).toMatch(/proxy_cache objects;\s+proxy_cache_valid 200 10m;/);
    expect(conf).toMatch(/worker_processes 1;/);
  });

  it("writes nothing outside its directory, so it runs as any user", () => {
    const paths = [...conf.matchAll(/"(\/[^"]+)"/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThanOrEqual(8); // pid, error log, five temp paths, the cache
    for (const p of paths) expect(p.startsWith("/tmp/bench-nginx-x/")).toBe(true);
    expect(conf).toMatch(/access_log off;/);
  });
});
