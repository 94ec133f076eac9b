import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import { eventually, heapAfterGc, heapProbeEnv, MiB, openFds, rssBytes, scrapeSample } from "@breakwater/testkit";
import { rawExchange, startStack, statusOf, withConcurrency, type Stack } from "./__fixtures__/stack.js";

const TOTAL = 10_000;
const SLOWLORIS = 60;
const CONCURRENCY = 48;
const WARMUP = 1_000;

/** One kind of hostile request: what to write, and the answers it may get (0: cut without an answer). */
interface Attack {
  readonly name: string;
  readonly expect: readonly number[];
  send(socket: Socket): void;
}

const req = (line: string, headers: string[] = [], body = ""): string =>
  `${line}\r\nHost: gw\r\n${[...headers, "Connection: close"].map((h) => `${h}\r\n`).join("")}\r\n${body}`;

const attacks: Attack[] = [
  {
    name: "dot-dot segment",
    expect: [400],
    send: (s) => s.end(req("GET /objects/default/a/../../etc/passwd HTTP/1.1")),
  },
  {
    name: "encoded dot-dot (bucket switch)",
    expect: [400],
    send: (s) => s.end(req("GET /objects/default/%2e%2e/other/secret HTTP/1.1")),
  },
  {
    name: "backslash dot-dot",
    expect: [400],
    send: (s) => s.end(req("GET /objects/default/a/%5c..%5c/%2E%2E/x HTTP/1.1")),
  },
  { name: "NUL in key", expect: [400], send: (s) => s.end(req("GET /objects/default/a%00.txt HTTP/1.1")) },
  { name: "control char in key", expect: [400], send: (s) => s.end(req("DELETE /objects/default/a%1b[2J HTTP/1.1")) },
  { name: "bad percent-encoding", expect: [400], send: (s) => s.end(req("GET /objects/default/%C0%AF%zz HTTP/1.1")) },
  { name: "2-letter bucket", expect: [400], send: (s) => s.end(req("GET /objects/ab/k HTTP/1.1")) },
  {
    name: "absolute-form traversal",
    expect: [400],
    send: (s) => s.end(req("GET http://evil/objects/default/%2e%2e/other/k HTTP/1.1")),
  },
  {
    name: "garbage request line",
    expect: [400],
    send: (s) => s.end("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n"),
  },
  { name: "unknown method", expect: [400], send: (s) => s.end(req("BREW /objects/default/pot HTTP/1.1")) },
  {
    name: "wrong method",
    expect: [405],
    send: (s) => s.end(req("POST /objects/default/k HTTP/1.1", ["Content-Length: 0"])),
  },
  {
    name: "range past the end",
    expect: [416],
    send: (s) => s.end(req("GET /objects/default/hostile/target HTTP/1.1", ["Range: bytes=99999999-"])),
  },
  {
    name: "zero suffix range",
    expect: [416],
    send: (s) => s.end(req("GET /objects/default/hostile/target HTTP/1.1", ["Range: bytes=-0"])),
  },
  {
    name: "malformed range",
    expect: [200],
    send: (s) => s.end(req("GET /objects/default/hostile/target HTTP/1.1", ["Range: bytes=--1,abc,9-1"])),
  },
  {
    name: "huge range numbers",
    expect: [200, 416],
    send: (s) => s.end(req("GET /objects/default/hostile/target HTTP/1.1", [`Range: bytes=${"9".repeat(40)}-`])),
  },
  {
    name: "1000 ranges",
    expect: [200],
    send: (s) =>
      s.end(
        req("GET /objects/default/hostile/target HTTP/1.1", [
          `Range: bytes=${Array.from({ length: 1000 }, (_, i) => `${i}-${i}`).join(",")}`,
        ]),
      ),
  },
  {
    name: "huge header",
    expect: [431],
    send: (s) => s.end(req("GET /objects/default/hostile/target HTTP/1.1", [`X-Junk: ${"a".repeat(40_000)}`])),
  },
  {
    name: "huge URL",
    expect: [431, 400],
    send: (s) => s.end(req(`GET /objects/default/${"k".repeat(40_000)} HTTP/1.1`)),
  },
  {
    name: "over-long key",
    expect: [400],
    send: (s) => s.end(req(`GET /objects/default/${"k".repeat(2_000)} HTTP/1.1`)),
  },
  {
    name: "declared body over the limit",
    expect: [413],
    send: (s) => s.write(req("PUT /objects/default/hostile/big HTTP/1.1", [`Content-Length: ${2 * MiB}`])),
  },
  {
    name: "truncated body",
    expect: [0],
    send: (s) => {
      s.write(req("PUT /objects/default/hostile/truncated HTTP/1.1", ["Content-Length: 100000"], "only a little"));
      setTimeout(() => s.destroy(), 5);
    },
  },
  {
    name: "truncated chunked body",
    expect: [0],
    send: (s) => {
      s.write(
        req(
          "PUT /objects/default/hostile/truncated-chunked HTTP/1.1",
          ["Transfer-Encoding: chunked"],
          "10\r\nonly a lit",
        ),
      );
      setTimeout(() => s.destroy(), 5);
    },
  },
  {
    name: "bad chunk size",
    expect: [400],
    send: (s) =>
      s.end(req("PUT /objects/default/hostile/x HTTP/1.1", ["Transfer-Encoding: chunked"], "zz\r\nhello\r\n0\r\n\r\n")),
  },
  {
    name: "smuggling: Content-Length and Transfer-Encoding",
    expect: [400],
    send: (s) =>
      s.end(
        req(
          "PUT /objects/default/hostile/x HTTP/1.1",
          ["Content-Length: 5", "Transfer-Encoding: chunked"],
          "0\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
        ),
      ),
  },
  {
    name: "duplicate Content-Length",
    expect: [400],
    send: (s) =>
      s.end(req("PUT /objects/default/hostile/x HTTP/1.1", ["Content-Length: 1", "Content-Length: 2"], "ab")),
  },
  {
    name: "PURGE without the token",
    expect: [401],
    send: (s) => s.end(req("PURGE /objects/default/?prefix=1 HTTP/1.1")),
  },
  { name: "unknown route", expect: [404], send: (s) => s.end(req("GET /../../etc/passwd HTTP/1.1")) },
  {
    name: "missing object",
    expect: [404],
    send: (s) => s.end(req("GET /objects/default/hostile/nothing-here HTTP/1.1")),
  },
  { name: "half a request line, then close", expect: [0, 400], send: (s) => s.end("GET /objects/def") },
];

/** V8's new and old space sizes (MiB) from the gateway's /metrics. */
async function heapSpaces(httpUrl: string): Promise<{ new: number; old: number }> {
  const space = async (name: string): Promise<number> =>
    Math.round(((await scrapeSample(httpUrl, "nodejs_heap_space_size_total_bytes", { space: name })) ?? NaN) / MiB);
  return { new: await space("new"), old: await space("old") };
}

/** Sends the request line and headers one byte every `everyMs` for as long as the connection lasts. */
function slowloris(socket: Socket, everyMs: number): void {
  const text = "GET /objects/default/hostile/target HTTP/1.1\r\nHost: gw\r\nX-Slow: " + "a".repeat(10_000);
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]!);
  }, everyMs);
  socket.once("close", () => clearInterval(timer));
}

/**
 * 10 000 malformed or hostile requests on loopback, with bounded concurrency,
 * headers timeout set to 1 s for the slowloris part: the gateway answers each
 * with the right status (or cuts it), stays up, answers a normal request
 * after, and its memory returns near its baseline.
 */
describe("hostile traffic", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      gatewayEnv: {
        GATEWAY_HEADERS_TIMEOUT: "1s",
        GATEWAY_REQUEST_TIMEOUT: "3s",
        GATEWAY_KEEP_ALIVE_TIMEOUT: "1s",
        MAX_PUT_BYTES: "1MiB",
        BW_ADMIN_TOKEN: "secret",
        // Live heap after a forced GC on demand: RSS alone cannot tell a leak from V8 sizing its heap.
        ...heapProbeEnv,
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("10 000 of them leave the gateway up, answering, with memory near baseline", async () => {
    const gateway = stack.gateways[0]!;
    const port = gateway.httpPort;
    expect((await fetch(`${stack.base}/hostile/target`, { method: "PUT", body: "the one good object" })).status).toBe(
      200,
    );
    // Warm up so the baseline is a running gateway's, not a fresh one's.
    await withConcurrency(8, 300, () => fetch(`${stack.base}/hostile/target`).then((r) => r.text()));
    const baseline = rssBytes(gateway.pid);
    // Descriptors before the attack: back at (or under) this, every hostile connection is gone.
    const fdsBefore = openFds(gateway.pid);
    const started = performance.now();

    const tally = new Map<string, Map<number, number>>();
    const unexpected: string[] = [];
    const record = (name: string, status: number, ok: boolean): void => {
      const byStatus = tally.get(name) ?? new Map<number, number>();
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      tally.set(name, byStatus);
      if (!ok && unexpected.length < 20) unexpected.push(`${name}: ${status}`);
    };

    // Slowloris connections alongside the rest: each must be cut by the headers timeout.
    const lorisDurations: number[] = [];
    const loris = withConcurrency(SLOWLORIS, SLOWLORIS, async () => {
      const t = performance.now();
      const { text, closed } = await rawExchange(port, (s) => slowloris(s, 100), { untilMs: 10_000 });
      lorisDurations.push(performance.now() - t);
      const status = statusOf(text);
      record("slowloris", status, closed && (status === 408 || status === 0));
    });
    const attack = async (i: number): Promise<void> => {
      const kind = attacks[i % attacks.length]!;
      const { text } = await rawExchange(port, kind.send, { untilMs: 5_000 });
      const status = statusOf(text);
      record(kind.name, status, kind.expect.includes(status));
    };
    // The first WARMUP settle the JIT and part of the heap sizing: growth after
    // them, over the other 9 000-odd, is what a leak would show.
    await withConcurrency(CONCURRENCY, WARMUP, attack);
    const warmed = rssBytes(gateway.pid);
    const heapWarmed = await heapAfterGc(gateway.pid);
    await withConcurrency(CONCURRENCY, TOTAL - SLOWLORIS - WARMUP, (i) => attack(i + WARMUP));
    await loris;
    const elapsed = performance.now() - started;

    // Still up and answering.
    const normal = await fetch(`${stack.base}/hostile/target`);
    expect(normal.status).toBe(200);
    expect(await normal.text()).toBe("the one good object");
    expect(gateway.child.exitCode).toBeNull();
    // The truncated uploads left nothing behind.
    expect((await fetch(`${stack.base}/hostile/truncated`)).status).toBe(404);
    expect((await fetch(`${stack.base}/hostile/truncated-chunked`)).status).toBe(404);

    // Memory: once every hostile connection is closed, compare.
    await eventually(() => openFds(gateway.pid) <= fdsBefore, { what: `gateway back to ${fdsBefore} descriptors` });
    const after = rssBytes(gateway.pid);
    const heap = await heapSpaces(gateway.httpUrl);
    const heapAfter = await heapAfterGc(gateway.pid);
    const summary = [...tally].map(
      ([name, byStatus]) => `${name} ${[...byStatus].map(([s, n]) => `${s}×${n}`).join(" ")}`,
    );
    const counted = [...tally.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0);
    console.log(
      `hostile traffic: ${counted} requests in ${(elapsed / 1000).toFixed(1)} s ` +
        `(concurrency ${CONCURRENCY} + ${SLOWLORIS} slowloris); ` +
        `slowloris cut after ` +
        `${Math.min(...lorisDurations).toFixed(0)}–${Math.max(...lorisDurations).toFixed(0)} ms; ` +
        `gateway RSS ${(baseline / MiB).toFixed(1)} MiB before, ` +
        `${(warmed / MiB).toFixed(1)} MiB after the first ${WARMUP}, ` +
        `${(after / MiB).toFixed(1)} MiB after all (V8 new space ${heap.new} MiB, old space ${heap.old} MiB); ` +
        `heap in use after a full GC ` +
        `${(heapWarmed.heapUsed / MiB).toFixed(1)} → ${(heapAfter.heapUsed / MiB).toFixed(1)} MiB` +
        `\n  ${summary.join("\n  ")}`,
    );
    const clientErrors = (status: string): Promise<number | undefined> =>
      scrapeSample(gateway.httpUrl, "gateway_http_client_errors_total", { status });
    console.log(
      `client errors seen by the gateway: 400 ${await clientErrors("400")}, 408 ${await clientErrors("408")}, ` +
        `431 ${await clientErrors("431")}`,
    );
    expect(counted).toBe(TOTAL);
    // Every slowloris was cut (408 or closed) before the client gave up at 10 s: how soon is a figure, not a check.
    expect(unexpected).toEqual([]);
    // The leak check: live memory after a full GC is back near where it was
    // after the warm-up (a leak of 500 bytes a request would be 4.5 MiB here).
    expect(heapAfter.heapUsed - heapWarmed.heapUsed).toBeLessThan(4 * MiB);
    expect(heapAfter.external - heapWarmed.external).toBeLessThan(4 * MiB);
    // RSS, a bound only: it also holds V8 sizing its heap for the churn (the young
    // generation goes from 16 to 32 MiB, old space grows before a major GC) and
    // allocator slack, which moved between 50 and 65 MiB over the warm figure here.
    expect(after - baseline).toBeLessThan(128 * MiB);
  }, 120_000);
});
