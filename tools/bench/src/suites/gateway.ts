import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { startS3Server, startServiceProcess, type S3Server, type ServiceProcess } from "@breakwater/testkit";
import { startChildServer, type ChildServer } from "../child-server.js";
import { findOrInstallCommand, versionLine } from "../debian-command.js";
import { formatMedianReport, type MedianComparison } from "../median-report.js";
import { startNginxCacheProxy, type NginxCacheProxy } from "../nginx-cache-proxy.js";
import { processCpuMicros } from "../proc-cpu.js";
import { benchBody, benchObjects } from "../servers/bare-cache-server.js";
import type { Suite } from "../suite.js";
import { compareWithWrk, type HttpSide } from "../wrk-rounds.js";
import { setUpWrk } from "../wrk-setup.js";
import { get, until, type Answer } from "../http-answer.js";

/** Issue 6: the gateway's GET-hit rate at least this share of nginx proxy_cache's … */
const targetOfNginx = 0.5;
/** … and of a bare node:http server answering from memory. */
const targetOfBare = 0.7;
/**
 * wrk's threads. One: on 2 cores the server under test (one nginx worker, or
 * one Node event loop) gets one core and wrk the other, for every server alike.
 */
const wrkThreads = 1;
/**
 * nginx workers. One, like the gateway's single event loop; `auto` (2 here)
 * would give nginx both cores, the one wrk needs included.
 */
const nginxWorkers = 1;
const bucket = "default";

/** The representation headers the gateway sent, for the bare server to send the same. */
function objectHeadersOf(a: Answer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["content-type", "etag", "last-modified", "accept-ranges", "cache-status"]) {
    const v = a.headers[name];
    if (typeof v === "string") out[name] = v;
  }
  return out;
}

const sizeLabel = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;

/**
 * GET hits through the whole HTTP path — s3rver → cache-store process →
 * gateway process, the objects in the gateway's near-cache — against nginx
 * proxy_cache serving the same objects from the same s3rver, and a bare
 * node:http server answering the same bytes from memory. wrk (from Debian)
 * is the load generator; the three are measured in alternating rounds and
 * judged on median req/s (issue 6: ≥ 0.5× nginx, ≥ 0.7× bare node).
 */
export const gatewaySuite: Suite = {
  name: "gateway",
  title: "gateway: GET hits via s3rver → cache-store → gateway vs nginx proxy_cache and a bare node:http server (wrk)",
  async run(settings) {
    const log = settings.log;
    const wrk = await setUpWrk("gateway", settings);
    const { version: wrkVersion, roundSeconds, warmupSeconds } = wrk;
    const nginx = await findOrInstallCommand({ command: "nginx", debianPackage: "nginx", log });
    const nginxVersion =
      "path" in nginx ? (await versionLine(nginx.path, ["-v"])).replace(/^nginx version:\s*/, "") : undefined;
    if (roundSeconds * settings.rounds !== settings.seconds) {
      log(
        `  wrk runs whole seconds: ${settings.rounds} rounds of ${roundSeconds} s = ` +
          `${roundSeconds * settings.rounds} s per server and scenario`,
      );
    }
    const script = fileURLToPath(new URL("../../dist/bare-http-main.js", import.meta.url));
    const loadBefore = loadavg();

    let s3: S3Server | undefined;
    let store: ServiceProcess | undefined;
    let gateway: ServiceProcess | undefined;
    let bare: ChildServer | undefined;
    let proxy: NginxCacheProxy | undefined;
    // Should the bench die mid-run, the two app processes go with it (nginx and bare have their own hooks).
    const killApps = (): void => {
      for (const p of [gateway, store]) if (p !== undefined && p.child.exitCode === null) p.child.kill("SIGKILL");
    };
    process.once("exit", killApps);
    try {
      s3 = await startS3Server({ buckets: [bucket] });
      // Straight into s3rver, then read back until whole: s3rver
      // 3.7.1 can acknowledge a PUT before its file is written.
      for (const o of benchObjects) {
        const body = benchBody(o.size);
        const put = await get(`${s3.endpoint}/${bucket}/${o.key}`, "PUT", body, {
          "content-type": "application/octet-stream",
        });
        if (put.status !== 200) throw new Error(`s3rver answered PUT ${o.key} with ${put.status}`);
        await until(
          `${s3.endpoint}/${bucket}/${o.key}`,
          (a) => a.status === 200 && a.body.equals(body),
          `s3rver serving ${o.key} whole`,
        );
      }
      store = await startServiceProcess("cache-store", {
        env: {
          S3_ENDPOINT: s3.endpoint,
          S3_ACCESS_KEY: s3.accessKeyId,
          S3_SECRET_KEY: s3.secretAccessKey,
          CACHE_STORE_HOST: "127.0.0.1",
          // The gateway's invalidation stream never ends by itself: do not wait 10 s for it at shutdown.
          SHUTDOWN_GRACE_MS: "500",
        },
      });
      gateway = await startServiceProcess("gateway", {
        env: { CACHE_STORE_URLS: `http://${store.grpcAddress}`, GATEWAY_HOST: "127.0.0.1" },
      });
      log(
        `  s3rver ${s3.endpoint}; cache-store pid ${store.pid} (${store.grpcAddress}); ` +
          `gateway pid ${gateway.pid} (${gateway.httpUrl})`,
      );
      // The near-cache serves only once the invalidation stream is live.
      await until(
        `${gateway.httpUrl}/readyz`,
        (a) => a.status === 200 && (JSON.parse(a.body.toString()) as { near_cache?: string }).near_cache === "on",
        "gateway ready with its near-cache on",
      );

      const gatewayHeaders: Record<string, string>[] = [];
      for (const o of benchObjects) {
        const body = benchBody(o.size);
        const hit = await until(
          `${gateway.httpUrl}/objects/${bucket}/${o.key}`,
          (a) =>
            a.status === 200 &&
            a.body.equals(body) &&
            String(a.headers["cache-status"]).includes("breakwater-gateway; hit"),
          `gateway answering ${o.key} from its near-cache`,
        );
        gatewayHeaders.push(objectHeadersOf(hit));
        log(`  gateway ${o.key}: ${o.size} bytes, cache-status "${hit.headers["cache-status"]}"`);
      }
      const specs = benchObjects.map((o, i) => ({
        path: `/objects/${bucket}/${o.key}`,
        size: o.size,
        headers: gatewayHeaders[i]!,
      }));
      bare = await startChildServer({
        name: "bare",
        script,
        args: [`--objects=${JSON.stringify(specs)}`],
        nodeArgs: settings.serverNodeArgs,
      });
      log(`  bare node:http server: pid ${bare.pid}, port ${bare.port}`);
      if ("path" in nginx) {
        proxy = await startNginxCacheProxy({
          nginx: nginx.path,
          origin: `127.0.0.1:${s3.port}`,
          workerProcesses: nginxWorkers,
        });
        log(`  nginx: pid ${proxy.pid}, ${proxy.url}, cache in ${proxy.directory}`);
        for (const o of benchObjects) {
          const body = benchBody(o.size);
          await until(
            `${proxy.url}/objects/${bucket}/${o.key}`,
            (a) => a.status === 200 && a.body.equals(body) && a.headers["x-cache-status"] === "HIT",
            `nginx answering ${o.key} from its cache`,
          );
        }
      } else {
        log(`  skipping the nginx baseline: ${nginx.missing}`);
      }

      const storePid = store.pid;
      const gatewayPid = gateway.pid;
      const bareServer = bare;
      const nginxProxy = proxy;
      const medians: MedianComparison[] = [];
      for (const o of benchObjects) {
        const path = `/objects/${bucket}/${o.key}`;
        const sides: HttpSide[] = [
          ...(nginxProxy === undefined
            ? []
            : [
                {
                  name: "nginx",
                  url: `${nginxProxy.url}${path}`,
                  cpuMicros: () => Promise.resolve(nginxProxy.cpuMicros()),
                },
              ]),
          { name: "bare", url: `http://127.0.0.1:${bareServer.port}${path}`, cpuMicros: () => bareServer.cpuMicros() },
          {
            name: "gateway",
            url: `${gateway.httpUrl}${path}`,
            // The stack's CPU: near-cache hits cost the cache-store
            // nothing, refills (every GATEWAY_CACHE_TTL) a little.
            cpuMicros: () => {
              const g = processCpuMicros(gatewayPid);
              const s = processCpuMicros(storePid);
              return Promise.resolve(g === undefined || s === undefined ? undefined : g + s);
            },
          },
        ];
        // Every server answers 200 with the right bytes before it is put under load.
        const body = benchBody(o.size);
        for (const side of sides) {
          const a = await get(side.url);
          if (a.status !== 200 || !a.body.equals(body))
            throw new Error(
              `${side.name} answered ${path} with ${a.status} and ${a.body.byteLength} bytes, ` +
                `not 200 and the object's ${o.size}`,
            );
        }
        const scenario = `GET hit ${sizeLabel(o.size)}`;
        const samples = await compareWithWrk(scenario, sides, {
          wrk: wrk.path,
          connections: settings.inFlight,
          threads: wrkThreads,
          rounds: settings.rounds,
          roundSeconds,
          warmupSeconds,
          minBytesPerResponse: o.size,
          log,
        });
        const measured = sides.map((s, i) => ({ name: s.name, samples: samples[i]! }));
        medians.push({
          scenario,
          sides: measured,
          targets: [
            ...(nginxProxy === undefined ? [] : [{ side: "gateway", baseline: "nginx", atLeast: targetOfNginx }]),
            { side: "gateway", baseline: "bare", atLeast: targetOfBare },
          ],
        });
      }

      const loadAfter = loadavg();
      const nginxTool =
        nginxVersion === undefined
          ? "nginx skipped"
          : `nginx/${nginxVersion.replace(/^nginx\//, "")} worker_processes ${nginxWorkers}`;
      const tools = `${wrkVersion} -t${wrkThreads} -c${settings.inFlight}; ${nginxTool}; node ${process.version}`;
      const heading = [
        gatewaySuite.title,
        `(median req/s of ${settings.rounds} alternating rounds of ${roundSeconds} s per server, ` +
          `${warmupSeconds} s warm-up; ${tools})`,
        `(load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, ` +
          `after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}; ` +
          `wrk shares the ${cpus().length} cores with the servers)`,
      ].join("\n");
      process.stdout.write(`\n${formatMedianReport(heading, medians, wrkThreads)}\n`);
      if (!("path" in nginx)) process.stdout.write(`skipped nginx baseline: ${nginx.missing}\n`);
      // The table above is the report: medians, two baselines.
      // main.ts's totals table would repeat it with other ratios.
      return [];
    } finally {
      await bare?.stop();
      await proxy?.stop();
      for (const p of [gateway, store]) {
        if (p === undefined) continue;
        const timer = setTimeout(() => p.child.kill("SIGKILL"), 5000);
        await p.stop();
        clearTimeout(timer);
      }
      process.off("exit", killApps);
      await s3?.close();
    }
  },
};
