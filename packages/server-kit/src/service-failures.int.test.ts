import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http2 from "node:http2";
import { pino } from "pino";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { testingV1 } from "@breakwater/proto";
import { eventually } from "@breakwater/testkit";
import { createServiceServer, type ServiceServer } from "./service-server.js";
import { createGrpcClient, type GrpcClient } from "./grpc-client.js";
import { service, type ServiceRegistration } from "./service-impl.js";

/** What a handler's message would leak if the mounts passed it on. */
const SECRET = "password=hunter2 host=db.internal:5432";
const COLLECT = "/breakwater.testing.v1.EchoService/Collect";
const CHAT = "/breakwater.testing.v1.EchoService/Chat";

/** What the Collect handler went through, for the cancellation test. */
interface CollectLog {
  events: string[];
}

/**
 * EchoService as a failing backend would serve it: Echo with fail_code 13
 * throws a plain Error carrying a secret; EchoStream sends `count` messages
 * and then fails (a plain Error with the secret when the payload is [1], else
 * UNAVAILABLE); Collect records how its request stream ended.
 */
function failingService(log: CollectLog): ServiceRegistration {
  return service(testingV1.EchoService, {
    async echo(req) {
      if (req.failCode === Code.Internal) throw new Error(`cannot reach the database: ${SECRET}`);
      return { payload: req.payload };
    },
    async *echoStream(req) {
      for (let index = 0; index < req.count; index++) yield { payload: req.payload, index };
      if (req.payload[0] === 1) throw new Error(`stream broke: ${SECRET}`);
      throw new ConnectError("storage went away", Code.Unavailable);
    },
    async collect(reqs, ctx) {
      ctx.signal.addEventListener("abort", () => log.events.push("signal aborted"));
      const parts: Uint8Array[] = [];
      try {
        for await (const r of reqs) {
          parts.push(r.payload);
          log.events.push(`message ${parts.length}`);
        }
      } catch (err) {
        log.events.push(`stream failed: ${(err as ConnectError).code === Code.Canceled ? "cancelled" : String(err)}`);
        throw err;
      }
      log.events.push(`complete: ${parts.length} messages`);
      return { payload: Buffer.concat(parts), messages: parts.length };
    },
    async *chat(reqs) {
      for await (const r of reqs) yield { text: `echo: ${r.text}` };
    },
  });
}

/** No stack frame ("    at f (file:line)") and no secret anywhere in `text`. */
function expectNothingInternal(text: string): void {
  expect(text).not.toContain("hunter2");
  expect(text).not.toContain("db.internal");
  expect(text).not.toMatch(/\bat .+:\d+:\d+/);
  expect(text).not.toContain("Error:");
}

/** Everything a ConnectError carries to the client, as text. */
function seenByClient(err: ConnectError): string {
  const metadata: string[] = [];
  err.metadata.forEach((v, k) => void metadata.push(`${k}: ${v}`));
  return [err.rawMessage, err.message, ...metadata, JSON.stringify(err.details)].join("\n");
}

/** One gRPC length-prefixed message (uncompressed). */
function frame(message: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([head, message]);
}

describe("service server: failures reach clients as codes, never as internals", () => {
  const log: CollectLog = { events: [] };
  let server: ServiceServer;
  let grpcUrl: string;
  let httpUrl: string;
  let echo: GrpcClient<typeof testingV1.EchoService>;
  let connect: Client<typeof testingV1.EchoService>;
  let raw: grpc.Client;

  beforeAll(async () => {
    server = createServiceServer({
      name: "test",
      services: [failingService(log)],
      logger: pino({ level: "silent" }),
      grpcPort: 0,
      httpPort: 0,
      host: "127.0.0.1",
      shutdownGraceMs: 2000,
    });
    const { grpcPort, httpPort } = await server.listen();
    grpcUrl = `127.0.0.1:${grpcPort}`;
    httpUrl = `http://127.0.0.1:${httpPort}`;
    echo = createGrpcClient(testingV1.EchoService, grpcUrl);
    connect = createClient(testingV1.EchoService, createConnectTransport({ baseUrl: httpUrl, httpVersion: "1.1" }));
    raw = new grpc.Client(grpcUrl, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    echo?.close();
    raw?.close();
    await server?.shutdown();
  });

  /** A unary call that must still work: the server stayed up. */
  async function stillServes(): Promise<void> {
    const res = await echo.echo({ payload: new Uint8Array([9]) });
    expect([...res.payload]).toEqual([9]);
  }

  it('a handler\'s plain Error: INTERNAL "internal error", no message, no stack (grpc-js and Connect)', async () => {
    const viaGrpc = (await echo.echo({ failCode: Code.Internal }).catch((e: unknown) => e)) as ConnectError;
    expect([viaGrpc.code, viaGrpc.rawMessage]).toEqual([Code.Internal, "internal error"]);
    expectNothingInternal(seenByClient(viaGrpc));

    const viaConnect = (await connect.echo({ failCode: Code.Internal }).catch((e: unknown) => e)) as ConnectError;
    expect([viaConnect.code, viaConnect.rawMessage]).toEqual([Code.Internal, "internal error"]);
    expectNothingInternal(seenByClient(viaConnect));

    // What curl would see: the whole Connect JSON answer.
    const res = await fetch(`${httpUrl}/breakwater.testing.v1.EchoService/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ failCode: Code.Internal }),
    });
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ code: "internal", message: "internal error" });
    expectNothingInternal(`${body}\n${[...res.headers].join("\n")}`);

    // And what a grpc-js client sees on the wire: status details and trailers.
    const failing = create(testingV1.EchoRequestSchema, { failCode: Code.Internal });
    const status = await new Promise<grpc.ServiceError>((resolve) =>
      raw.makeUnaryRequest(
        "/breakwater.testing.v1.EchoService/Echo",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(toBinary(testingV1.EchoRequestSchema, failing)),
        (e) => resolve(e!),
      ),
    );
    expect([status.code, status.details]).toEqual([grpc.status.INTERNAL, "internal error"]);
    expectNothingInternal(JSON.stringify(status.metadata.toJSON()));
  });

  it("a server stream failing mid-stream: the messages sent, then the error code (grpc-js and Connect)", async () => {
    for (const client of [echo, connect]) {
      const got: number[] = [];
      const err = await (async () => {
        for await (const m of client.echoStream({ count: 3 })) got.push(m.index);
      })().catch((e: unknown) => e);
      expect(got).toEqual([0, 1, 2]);
      const { code, rawMessage } = err as ConnectError;
      expect([code, rawMessage]).toEqual([Code.Unavailable, "storage went away"]);

      // A plain Error mid-stream: INTERNAL, its message and stack kept in.
      const seen: number[] = [];
      const hidden = await (async () => {
        for await (const m of client.echoStream({ count: 2, payload: new Uint8Array([1]) })) seen.push(m.index);
      })().catch((e: unknown) => e);
      expect(seen).toEqual([0, 1]);
      const h = hidden as ConnectError;
      expect([h.code, h.rawMessage]).toEqual([Code.Internal, "internal error"]);
      expectNothingInternal(seenByClient(h));
    }
    await stillServes();
  });

  it("a malformed message inside a client stream: INVALID_ARGUMENT, and the server stays up", async () => {
    log.events.length = 0;
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.makeClientStreamRequest(
        COLLECT,
        (b: Buffer) => b,
        (b: Buffer) => b,
        (e) => resolve(e),
      );
      call.write(Buffer.from([0x0a, 0x01, 0x07])); // payload [7]: fine
      call.write(Buffer.from([0x0a, 0x05, 0x01])); // payload of 5 bytes that holds 1: truncated
      call.end();
    });
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/malformed/);
    // The handler did not take it for a complete stream.
    expect(log.events.filter((e) => e.startsWith("stream failed"))).toHaveLength(1);
    expect(log.events.filter((e) => e.startsWith("complete"))).toEqual([]);
    await stillServes();
  });

  it("a malformed message inside a bidi stream: answers so far, then INVALID_ARGUMENT; server stays up", async () => {
    const answers: string[] = [];
    const err = await new Promise<grpc.StatusObject>((resolve) => {
      const call = raw.makeBidiStreamRequest(
        CHAT,
        (b: Buffer) => b,
        (b: Buffer) => b,
      );
      call.on("data", (b: Buffer) => answers.push(b.subarray(2).toString()));
      call.on("error", () => undefined); // the status says it
      call.on("status", resolve);
      call.write(Buffer.from([0x0a, 0x01, 0x61])); // text "a"
      // Wait for the answer to "a", then send text that is not UTF-8.
      void eventually(() => answers.length === 1, { what: "the answer to the first message" }).then(() => {
        call.write(Buffer.from([0x0a, 0x02, 0xff, 0xfe]));
        call.end();
      });
    });
    expect(answers).toEqual(["echo: a"]);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/malformed/);
    await stillServes();
  });

  it("a client gone mid client-stream (connection closed): handler sees the cancel, none is complete", async () => {
    log.events.length = 0;
    const session = http2.connect(`http://${grpcUrl}`);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": COLLECT,
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => undefined); // the reset we send
      const request = create(testingV1.CollectRequestSchema, { payload: new Uint8Array([1, 2]) });
      const message = toBinary(testingV1.CollectRequestSchema, request);
      stream.write(frame(message));
      stream.write(frame(message));
      await eventually(() => log.events.includes("message 2"), { what: "the handler received both messages" });
      session.destroy(); // the client is gone mid-stream: its request stream never ends
      await eventually(() => log.events.some((e) => e.startsWith("stream failed")), {
        what: "the handler's stream failed",
        timeoutMs: 3000,
      }).catch((e: unknown) => {
        throw new Error(`${String(e)}; handler saw: ${log.events.join(", ")}`);
      });
    } finally {
      session.destroy();
    }
    expect(log.events).toContain("signal aborted");
    expect(log.events).toContain("stream failed: cancelled");
    expect(log.events.filter((e) => e.startsWith("complete"))).toEqual([]);
    await stillServes();
  });
});
