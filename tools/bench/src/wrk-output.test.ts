import { describe, expect, it } from "vitest";
import { parseShellTimes, parseWrkOutput, socketErrorCount } from "./wrk-output.js";

// Printed by Debian's wrk 4.1.0 against the bench's bare node:http server, followed by bash's `times`.
const withLatency = `Running 1s test @ http://127.0.0.1:34311/k
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.39ms    2.70ms  33.25ms   94.78%
    Req/Sec    71.25k    27.63k   87.06k    80.00%
  Latency Distribution
     50%  720.00us
     75%    0.92ms
     90%    2.23ms
     99%   16.35ms
  70562 requests in 1.00s, 80.01MB read
Requests/sec:  70528.22
Transfer/sec:     79.97MB
0m0.003s 0m0.000s
0m0.092s 0m0.386s
`;

// The same server asked for a path it does not have; the socket errors line is as wrk's main() prints it.
const withErrors = `Running 1s test @ http://127.0.0.1:34311/missing
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    98.74us  197.51us   4.59ms   98.18%
    Req/Sec    98.43k    12.51k  105.45k    90.91%
  107498 requests in 1.10s, 13.22MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 107498
Requests/sec:  97735.49
Transfer/sec:     12.02MB
`;

describe("parseWrkOutput", () => {
  it("reads the totals, the rate, the bytes and the latency distribution", () => {
    const r = parseWrkOutput(withLatency);
    expect(r.requests).toBe(70562);
    expect(r.requestsPerSecond).toBe(70528.22);
    // From the rate, which has more digits than "in 1.00s".
    expect(r.seconds).toBeCloseTo(70562 / 70528.22, 9);
    expect(r.bytesRead).toBe(Math.round(80.01 * 1024 * 1024));
    expect(r.non2xx3xx).toBe(0);
    expect(r.socketErrors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
    expect(r.latencyMs).toEqual({ p50: 0.72, p75: 0.92, p90: 2.23, p99: 16.35 });
  });

  it("reads non-2xx/3xx answers and socket errors; no latency without --latency", () => {
    const r = parseWrkOutput(withErrors);
    expect(r.requests).toBe(107498);
    expect(r.non2xx3xx).toBe(107498);
    expect(r.socketErrors).toEqual({ connect: 0, read: 3, write: 1, timeout: 2 });
    expect(socketErrorCount(r)).toBe(6);
    expect(r.latencyMs).toBeUndefined();
  });

  it("takes every unit wrk prints", () => {
    const r = parseWrkOutput(
      withLatency
        .replace("  70562 requests in 1.00s, 80.01MB read", "  3 requests in 1.50m, 2.00GB read")
        .replace("     99%   16.35ms", "     99%    1.20s")
        .replace("Requests/sec:  70528.22", "Requests/sec:      0.00"),
    );
    expect(r.seconds).toBe(90); // no rate to divide by: the printed time
    expect(r.bytesRead).toBe(2 * 1024 ** 3);
    expect(r.latencyMs?.p99).toBe(1200);
  });

  it("fails when wrk printed no summary", () => {
    expect(() => parseWrkOutput("unable to connect to 127.0.0.1:1 Connection refused\n")).toThrow(/no summary/);
  });
});

describe("parseShellTimes", () => {
  it("adds up user and system time of the shell's children (the second line)", () => {
    expect(parseShellTimes(withLatency)).toBeCloseTo(0.478, 9);
    expect(parseShellTimes("0m0.001s 0m0.002s\n1m2.500s 0m0.500s\n")).toBeCloseTo(63, 9);
  });

  it("is undefined without both lines", () => {
    expect(parseShellTimes(withErrors)).toBeUndefined();
    expect(parseShellTimes("0m0.001s 0m0.002s\n")).toBeUndefined();
  });
});
