import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition } from "@breakwater/server-kit";
import { echoService } from "@breakwater/server-kit/testing";
import { startChildServer, type ChildServer } from "../child-server.js";
import { compareSides, type Side } from "../compare.js";
import { rawCaller } from "../raw-grpc-call.js";
import type { Comparison } from "../report.js";
import type { Suite } from "../suite.js";

/** The servers compared, baseline first (see echo-server.ts). */
const kinds = ["bare", "kit", "mount"] as const;
/** Connections per server the load is spread over. */
const channels = 4;
/**
 * The kit's grpc-js port must keep at least this share of bare grpc-js's throughput (the hot path, design.md "Stack").
 */
const target = 0.8;

const payload = new Uint8Array(1024).fill(0x62);
// breakwater.testing.v1.EchoService with the codec every server here uses.
const desc = echoService().desc;
const definition = grpcServiceDefinition(desc);

interface Scenario {
  readonly name: string;
  readonly method: "echo" | "echoStream";
  readonly request: object;
  /** Response messages per call. */
  readonly messages: number;
}

const scenarios: readonly Scenario[] = [
  { name: "unary 1 KiB", method: "echo", request: { payload }, messages: 1 },
  { name: "stream 16 × 1 KiB", method: "echoStream", request: { payload, count: 16 }, messages: 16 },
];

type Bytes = Buffer;

/** One call of a scenario over one of `clients`, raw (`verify` parses once). */
function caller(clients: readonly grpc.Client[], scenario: Scenario): (worker: number) => Promise<number> {
  return rawCaller(clients, definition[scenario.method]!, scenario.request, scenario.messages);
}

/** One call with real parsing: the server answers what the scenario expects. */
async function verify(client: grpc.Client, server: string, scenario: Scenario): Promise<void> {
  const d = definition[scenario.method]!;
  const ser = d.requestSerialize as (v: object) => Bytes;
  const de = d.responseDeserialize as (b: Bytes) => { payload: Uint8Array };
  const answers = await new Promise<{ payload: Uint8Array }[]>((resolve, reject) => {
    if (!d.responseStream) {
      client.makeUnaryRequest(d.path, ser, de, scenario.request, (err, res) => (err ? reject(err) : resolve([res!])));
      return;
    }
    const got: { payload: Uint8Array }[] = [];
    const call = client.makeServerStreamRequest(d.path, ser, de, scenario.request);
    call.on("data", (m: { payload: Uint8Array }) => got.push(m));
    call.on("error", reject);
    call.on("end", () => resolve(got));
  });
  const ok = answers.length === scenario.messages && answers.every((a) => Buffer.from(a.payload).equals(payload));
  if (!ok) throw new Error(`${server} answered ${scenario.name} wrongly (${answers.length} messages)`);
}

function connect(port: number): Promise<grpc.Client[]> {
  const clients = Array.from(
    { length: channels },
    // A local subchannel pool gives each client its own connection.
    () =>
      new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
        "grpc.enable_retries": 0,
      }),
  );
  const deadline = Date.now() + 10_000;
  return Promise.all(
    clients.map(
      (c) =>
        new Promise<grpc.Client>((resolve, reject) =>
          c.waitForReady(deadline, (err) => (err ? reject(err) : resolve(c))),
        ),
    ),
  ).catch((err: unknown) => {
    for (const c of clients) c.close();
    throw err;
  });
}

/** The server kit's grpc-js port (full server and mount alone) against hand-written grpc-js. */
export const serverKitSuite: Suite = {
  name: "server-kit",
  title: "server-kit: EchoService on the kit's grpc-js port vs the same handlers on bare grpc-js",
  async run(settings) {
    // The compiled server, whether this file runs compiled (dist/suites) or from source in tests (src/suites).
    const script = fileURLToPath(new URL("../../dist/echo-server.js", import.meta.url));
    const servers: ChildServer[] = [];
    const clients: grpc.Client[][] = [];
    try {
      for (const kind of kinds) {
        const server = await startChildServer({
          name: kind,
          script,
          args: [`--kind=${kind}`],
          nodeArgs: settings.serverNodeArgs,
        });
        servers.push(server);
        settings.log(`  ${kind} server: pid ${server.pid}, port ${server.port}`);
        clients.push(await connect(server.port));
      }
      const comparisons: Comparison[] = [];
      for (const scenario of scenarios) {
        for (const [i, server] of servers.entries()) await verify(clients[i]![0]!, server.name, scenario);
        const sides: Side[] = servers.map((server, i) => ({
          name: server.name,
          call: caller(clients[i]!, scenario),
          cpuMicros: server.cpuMicros,
        }));
        const measurements = await compareSides(scenario.name, sides, settings);
        comparisons.push({ scenario: scenario.name, baseline: "bare", target, measurements });
      }
      return comparisons;
    } finally {
      for (const list of clients) for (const c of list) c.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
};
