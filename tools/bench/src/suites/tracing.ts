import { cpus, loadavg } from "node:os";
import { startS3Server, startServiceProcess, type S3Server, type ServiceProcess } from "@breakwater/testkit";
import { get, until } from "../http-answer.js";
import { formatMedianReport } from "../median-report.js";
import { startOtlpSink, type OtlpSink } from "../otlp-sink.js";
import { processCpuMicros } from "../proc-cpu.js";
import { benchBody, benchObjects } from "../servers/bare-cache-server.js";
import type { Suite } from "../suite.js";
import { compareWithWrk, type HttpSide } from "../wrk-rounds.js";
import { setUpWrk } from "../wrk-setup.js";

/** Issue 14: with tracing off, the gateway's GET-hit rate at least this share of one without tracing code. */
const targetOff = 0.98;
/** As in the gateway suite: one wrk thread, so the gateway under load gets the other core. */
const wrkThreads = 1;
const bucket = "default";

/** The three gateways compared, by how tracing is built into them. */
const variants = [
  // GATEWAY_TRACE_HOOKS=false: the request path as it was before tracing, no tracing call at all.
  { name: "untraced", env: { GATEWAY_TRACE_HOOKS: "false" } },
  // The default build, no OTEL_* variable: the API's no-op on the path.
  { name: "off", env: {} },
  // The SDK on, every request sampled, spans batched to an OTLP sink (filled in at run time).
  { name: "on", env: { OTEL_TRACES_SAMPLER: "always_on" } },
] as const;

/**
 * What tracing costs the gateway's hot path: GET hits from the near-cache of
 * three gateway processes over one cache-store and s3rver, the same object,
 * measured with wrk in alternating rounds: built without tracing calls, with
 * tracing off (the default), and with tracing on (a span per request,
 * exported over OTLP/HTTP protobuf to a sink in this process).
 */
export const tracingSuite: Suite = {
  name: "tracing",
  title: "tracing: gateway GET hits without tracing code vs tracing off vs tracing on (wrk)",
  async run(settings) {
    const log = settings.log;
    const wrk = await setUpWrk("tracing", settings);
    const { version: wrkVersion, roundSeconds, warmupSeconds } = wrk;
    const object = benchObjects[0];
    const path = `/objects/${bucket}/${object.key}`;
    const body = benchBody(object.size);
    const loadBefore = loadavg();

    let s3: S3Server | undefined;
    let sink: OtlpSink | undefined;
    let store: ServiceProcess | undefined;
    const gateways: ServiceProcess[] = [];
    const killApps = (): void => {
      for (const p of [...gateways, store]) if (p !== undefined && p.child.exitCode === null) p.child.kill("SIGKILL");
    };
    process.once("exit", killApps);
    try {
      s3 = await startS3Server({ buckets: [bucket] });
      const put = await get(`${s3.endpoint}/${bucket}/${object.key}`, "PUT", body, {
        "content-type": "application/octet-stream",
      });
      if (put.status !== 200) throw new Error(`s3rver answered PUT ${object.key} with ${put.status}`);
      await until(`${s3.endpoint}/${bucket}/${object.key}`, (a) => a.body.equals(body), "s3rver serving the object");
      sink = await startOtlpSink();
      store = await startServiceProcess("cache-store", {
        env: {
          S3_ENDPOINT: s3.endpoint,
          S3_ACCESS_KEY: s3.accessKeyId,
          S3_SECRET_KEY: s3.secretAccessKey,
          CACHE_STORE_HOST: "127.0.0.1",
          SHUTDOWN_GRACE_MS: "500",
        },
      });
      log(`  s3rver ${s3.endpoint}; cache-store pid ${store.pid}; OTLP sink ${sink.url}`);
      for (const v of variants) {
        const otel: Record<string, string> = v.name === "on" ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } : {};
        const gateway = await startServiceProcess("gateway", {
          env: { CACHE_STORE_URLS: `http://${store.grpcAddress}`, GATEWAY_HOST: "127.0.0.1", ...v.env, ...otel },
        });
        gateways.push(gateway);
        await until(
          `${gateway.httpUrl}/readyz`,
          (a) => a.status === 200 && (JSON.parse(a.body.toString()) as { near_cache?: string }).near_cache === "on",
          `gateway "${v.name}" ready with its near-cache on`,
        );
        await until(
          `${gateway.httpUrl}${path}`,
          (a) => a.status === 200 && a.body.equals(body) && String(a.headers["cache-status"]).includes("; hit"),
          `gateway "${v.name}" answering from its near-cache`,
        );
        log(`  gateway "${v.name}": pid ${gateway.pid}, ${gateway.httpUrl}`);
      }
      const sides: HttpSide[] = variants.map((v, i) => {
        const pid = gateways[i]!.pid;
        return {
          name: v.name,
          url: `${gateways[i]!.httpUrl}${path}`,
          cpuMicros: () => Promise.resolve(processCpuMicros(pid)),
        };
      });
      const scenario = `GET hit ${object.size / 1024} KiB`;
      const samples = await compareWithWrk(scenario, sides, {
        wrk: wrk.path,
        connections: settings.inFlight,
        threads: wrkThreads,
        rounds: settings.rounds,
        roundSeconds,
        warmupSeconds,
        minBytesPerResponse: object.size,
        log,
      });
      const exported = sink.exports();
      log(`  "on" exported ${exported.requests} OTLP requests`);
      const loadAfter = loadavg();
      const heading = [
        tracingSuite.title,
        `(median req/s of ${settings.rounds} alternating rounds of ${roundSeconds} s per gateway, ` +
          `${warmupSeconds} s warm-up; ${wrkVersion} -t${wrkThreads} -c${settings.inFlight}; node ${process.version})`,
        `(load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, ` +
          `after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}; ` +
          `wrk shares the ${cpus().length} cores with the servers; ` +
          `"on" exported ${exported.requests} OTLP requests, ${Math.round(exported.bytes / 1024)} KiB)`,
      ].join("\n");
      const report = formatMedianReport(
        heading,
        [
          {
            scenario,
            sides: variants.map((v, i) => ({ name: v.name, samples: samples[i]! })),
            targets: [{ side: "off", baseline: "untraced", atLeast: targetOff }],
          },
        ],
        wrkThreads,
      );
      process.stdout.write(`\n${report}\n`);
      return [];
    } finally {
      for (const p of [...gateways, store]) {
        if (p === undefined) continue;
        const timer = setTimeout(() => p.child.kill("SIGKILL"), 5000);
        await p.stop();
        clearTimeout(timer);
      }
      process.off("exit", killApps);
      await sink?.close();
      await s3?.close();
    }
  },
};
