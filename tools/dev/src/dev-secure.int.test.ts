import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import * as https from "node:https";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, freePort } from "@breakwater/testkit";
import { readyLine } from "./banner.js";
import { isPortFree } from "./ports.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const orchestrator = path.join(repoRoot, "tools/dev/dist/main.js");

/** A BW_DEV_BASE_PORT whose eight ports are free now. */
async function freeBase(): Promise<number> {
  for (;;) {
    const base = await freePort();
    const block = Array.from({ length: 8 }, (_, i) => base + i);
    if (base + 7 < 32768 && (await Promise.all(block.map((p) => isPortFree(p, "0.0.0.0")))).every(Boolean)) return base;
  }
}

/**
 * `BW_DEV_TLS=1 npm start`: a throwaway CA and tokens under the data folder,
 * every port under mTLS, and the banner's curl recipe working as printed.
 */
describe("BW_DEV_TLS=1 npm start", () => {
  let dataDir: string;
  let child: ChildProcess;
  let base: number;
  let output = "";
  const secure = (): string => path.join(dataDir, "secure");
  const request = (
    url: string,
    options: https.RequestOptions & { body?: string },
  ): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = https.request(url, { agent: false, ...options }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end(options.body);
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "bw-dev-secure-"));
    base = await freeBase();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BW_DEV_DATA_DIR: dataDir,
      BW_DEV_BASE_PORT: String(base),
      BW_DEV_TLS: "1",
      NO_COLOR: "1",
    };
    for (const v of ["COORDINATOR_PORT", "COORDINATOR_HTTP_PORT", "CACHE_STORE_PORT", "GATEWAY_PORT"]) delete env[v];
    child = spawn(process.execPath, [orchestrator], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    await eventually(() => output.includes(readyLine) || child.exitCode !== null, {
      timeoutMs: 90_000,
      what: "the secured dev stack up",
    });
    expect(output).toContain(readyLine);
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const closed = new Promise((r) => child.once("close", r));
      child.kill("SIGTERM");
      await closed;
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("the banner's curl recipe works; no token is 401, no client certificate is refused at the handshake", async () => {
    expect(output).toContain("mTLS and tokens on");
    expect(output).toMatch(/curl --cacert \S+ca\.crt --cert \S+operator\.crt --key \S+operator\.key/);
    const pem = {
      ca: readFileSync(path.join(secure(), "ca.crt")),
      cert: readFileSync(path.join(secure(), "operator.crt")),
      key: readFileSync(path.join(secure(), "operator.key")),
    };
    const token = readFileSync(path.join(secure(), "admin.token"), "utf8").trim();
    const object = `https://127.0.0.1:${base + 5}/objects/default/secure.txt`;
    const auth = { authorization: `Bearer ${token}` };
    expect((await request(object, { ...pem, method: "PUT", headers: auth, body: "secret" })).status).toBe(200);
    expect(await request(object, { ...pem, headers: auth })).toEqual({ status: 200, body: "secret" });
    expect((await request(object, pem)).status).toBe(401);
    await expect(request(object, { ca: pem.ca })).rejects.toThrow();
    const closed = new Promise<number | null>((r) => child.once("close", r));
    child.kill("SIGTERM");
    expect(await closed).toBe(0);
  }, 60_000);
});
