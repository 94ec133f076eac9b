import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import * as grpc from "@grpc/grpc-js";
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { healthV1, testingV1 } from "@breakwater/proto";
import { createServiceServer, type ServiceServer } from "./service-server.js";
import { createGrpcClient, type GrpcClient } from "./grpc-client.js";
import { echoService, type EchoProbe } from "./testing/echo-service.js";
import { createReflectionClient } from "./testing/reflection-client.js";

const { HealthCheckResponse_ServingStatus: Serving } = healthV1;

describe("service server: one service code on grpc-js and connect", () => {
  const probe: EchoProbe = { aborted: [], streamsFinished: 0 };
  let server: ServiceServer;
  let grpcUrl: string;
  let httpUrl: string;
  let echo: GrpcClient<typeof testingV1.EchoService>;

  beforeAll(async () => {
    server = createServiceServer({
      name: "test",
      services: [echoService(probe)],
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
  });
  afterAll(async () => {
    echo?.close();
    await server?.shutdown();
  });

  it("answers unary calls over grpc-js, with request headers and trailers", async () => {
    let tag: string | undefined;
    const res = await echo.echo(
      { payload: new TextEncoder().encode("hello") },
      { headers: { "x-echo-tag": "t1" }, onTrailers: (t) => (tag = t.get("x-echo-tag")[0] as string) },
    );
    expect(new TextDecoder().decode(res.payload)).toBe("hello");
    expect(tag).toBe("t1");
  });

  it("streams server messages, collects client streams, and chats both ways", async () => {
    const got: number[] = [];
    for await (const m of echo.echoStream({ payload: new Uint8Array([1]), count: 50 })) got.push(m.index);
    expect(got).toEqual([...Array(50).keys()]);

    async function* parts() {
      for (let i = 0; i < 10; i++) yield { payload: new Uint8Array([i]) };
    }
    const collected = await echo.collect(parts());
    expect(collected.messages).toBe(10);
    expect([...collected.payload]).toEqual([...Array(10).keys()]);

    async function* lines() {
      yield { text: "a" };
      yield { text: "b" };
    }
    const answers: string[] = [];
    for await (const m of echo.chat(lines())) answers.push(m.text);
    expect(answers).toEqual(["echo: a", "echo: b"]);
  });

  it("maps errors to gRPC status codes with trailers, on both mounts", async () => {
    const err = await echo.echo({ failCode: Code.Unavailable, failMessage: "backend down" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).rawMessage).toBe("backend down");
    expect((err as ConnectError).metadata.get("retry-after-ms")).toBe("1500");

    async function* bad() {
      yield { text: "fail" };
    }
    const chatErr = await (async () => {
      for await (const _ of echo.chat(bad())) void _;
    })().catch((e: unknown) => e);
    expect((chatErr as ConnectError).code).toBe(Code.InvalidArgument);

    const connect = createClient(
      testingV1.EchoService,
      createConnectTransport({ baseUrl: httpUrl, httpVersion: "1.1" }),
    );
    const cErr = await connect.echo({ failCode: Code.NotFound, failMessage: "no such thing" }).catch((e: unknown) => e);
    expect((cErr as ConnectError).code).toBe(Code.NotFound);
    expect((cErr as ConnectError).rawMessage).toBe("no such thing");
  });

  it("answers INVALID_ARGUMENT, not INTERNAL, to a request that does not parse", async () => {
    const raw = new grpc.Client(grpcUrl, grpc.credentials.createInsecure());
    // Field 3 (fail_message, a string) holding bytes that are not UTF-8.
    const bytes = Buffer.from([0x1a, 0x02, 0xff, 0xfe]);
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      raw.makeUnaryRequest(
        "/breakwater.testing.v1.EchoService/Echo",
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        (e) => resolve(e!),
      ),
    );
    raw.close();
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/malformed/);
  });

  it("cancels the handler when the client cancels or the deadline passes", async () => {
    const ac = new AbortController();
    const pending = echo.echo({ delayMs: 10_000 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect(((await pending.catch((e: unknown) => e)) as ConnectError).code).toBe(Code.Canceled);

    const late = (await echo.echo({ delayMs: 10_000 }, { timeoutMs: 100 }).catch((e: unknown) => e)) as ConnectError;
    expect(late.code).toBe(Code.DeadlineExceeded);

    const before = probe.streamsFinished;
    let seen = 0;
    for await (const _ of echo.echoStream({ count: 1_000_000, intervalMs: 1 })) {
      if (++seen === 3) break; // the client stops reading: the call is cancelled
    }
    await expect.poll(() => probe.streamsFinished, { timeout: 5000 }).toBeGreaterThan(before);
    await expect.poll(() => probe.aborted.filter((m) => m === "Echo").length, { timeout: 5000 }).toBe(2);
  });

  it("serves the same code as Connect JSON over HTTP/1.1 (what curl sends)", async () => {
    const res = await fetch(`${httpUrl}/breakwater.testing.v1.EchoService/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ payload: Buffer.from("json!").toString("base64") }),
    });
    expect(res.status).toBe(200);
    expect(Buffer.from(((await res.json()) as { payload: string }).payload, "base64").toString()).toBe("json!");

    const connect = createClient(
      testingV1.EchoService,
      createConnectTransport({ baseUrl: httpUrl, httpVersion: "1.1" }),
    );
    const got: number[] = [];
    for await (const m of connect.echoStream({ count: 3 })) got.push(m.index);
    expect(got).toEqual([0, 1, 2]);
  });

  it("serves /metrics and /healthz", async () => {
    const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/rpc_server_calls_total\{[^}]*method="\/breakwater.testing.v1.EchoService\/Echo"/);
    const health = await fetch(`${httpUrl}/healthz`);
    expect(health.status).toBe(200);
  });

  for (const version of ["v1", "v1alpha"] as const) {
    it(`lists the served services by reflection ${version}, descriptors resolvable`, async () => {
      const reflection = createReflectionClient(grpcUrl, version);
      try {
        const services = await reflection.listServices();
        expect(services).toEqual(
          expect.arrayContaining(["breakwater.testing.v1.EchoService", "grpc.health.v1.Health"]),
        );
        const files = await reflection.fileContainingSymbol("breakwater.testing.v1.EchoService");
        expect(files[0]?.name).toBe("breakwater/testing/v1/echo.proto");
        const out = await reflection.invokeJson("breakwater.testing.v1.EchoService", "EchoStream", {
          payload: "AQ==",
          count: 2,
        });
        expect(out).toEqual([{ payload: "AQ==" }, { payload: "AQ==", index: 1 }]);
      } finally {
        reflection.close();
      }
    });
  }
});

describe("graceful shutdown", () => {
  it("reports NOT_SERVING, lets in-flight calls finish, then closes", async () => {
    const server = createServiceServer({
      name: "test",
      services: [echoService()],
      logger: pino({ level: "silent" }),
      grpcPort: 0,
      httpPort: 0,
      host: "127.0.0.1",
      shutdownGraceMs: 5000,
    });
    const { grpcPort } = await server.listen();
    const health = createGrpcClient(healthV1.Health, `127.0.0.1:${grpcPort}`);
    const echo = createGrpcClient(testingV1.EchoService, `127.0.0.1:${grpcPort}`);
    try {
      expect((await health.check({ service: "" })).status).toBe(Serving.SERVING);
      const statuses: number[] = [];
      const watching = (async () => {
        for await (const m of health.watch({ service: "breakwater.testing.v1.EchoService" })) statuses.push(m.status);
      })();
      await expect.poll(() => statuses.length).toBe(1);
      // In flight: a stream whose first message says the call reached the handler; its second
      // comes after the shutdown began.
      const request = { payload: new Uint8Array([7]), count: 2, intervalMs: 300 };
      const inFlight = echo.echoStream(request)[Symbol.asyncIterator]();
      expect((await inFlight.next()).value?.index).toBe(0);
      const down = server.shutdown();
      const second = await inFlight.next();
      expect([second.value?.index, [...(second.value?.payload ?? [])]]).toEqual([1, [7]]);
      expect((await inFlight.next()).done).toBe(true);
      await down;
      await watching.catch(() => undefined);
      expect(statuses).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
    } finally {
      health.close();
      echo.close();
    }
  });
});
