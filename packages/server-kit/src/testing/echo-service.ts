import { testingV1 } from "@breakwater/proto";
import { Code, ConnectError } from "@connectrpc/connect";
import { service, type ServiceRegistration } from "../service-impl.js";

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Events the echo service reports, so tests can see cancellation reach the handler. */
export interface EchoProbe {
  /** Handlers whose signal aborted, by method name. */
  aborted: string[];
  /** Server-stream generators whose `finally` ran. */
  streamsFinished: number;
}

/** breakwater.testing.v1.EchoService: one method of each kind, for tests and benchmarks. */
export function echoService(probe: EchoProbe = { aborted: [], streamsFinished: 0 }): ServiceRegistration {
  return service(testingV1.EchoService, {
    async echo(req, ctx) {
      if (req.delayMs > 0) {
        try {
          await pause(req.delayMs, ctx.signal);
        } catch (err) {
          probe.aborted.push("Echo");
          throw err;
        }
      }
      if (req.failCode !== 0) {
        ctx.setResponseTrailer("retry-after-ms", "1500");
        throw new ConnectError(req.failMessage || "failed on request", req.failCode as Code);
      }
      const tag = ctx.requestHeader("x-echo-tag");
      if (tag !== undefined) ctx.setResponseTrailer("x-echo-tag", tag);
      return { payload: req.payload };
    },
    async *echoStream(req, ctx) {
      try {
        for (let index = 0; index < req.count; index++) {
          if (req.intervalMs > 0 && index > 0) await pause(req.intervalMs, ctx.signal);
          yield { payload: req.payload, index };
        }
      } catch (err) {
        probe.aborted.push("EchoStream");
        throw err;
      } finally {
        probe.streamsFinished++;
      }
    },
    async collect(reqs) {
      const parts: Uint8Array[] = [];
      for await (const r of reqs) parts.push(r.payload);
      return { payload: Buffer.concat(parts), messages: parts.length };
    },
    async *chat(reqs) {
      for await (const r of reqs) {
        if (r.text === "fail") throw new ConnectError("chat refused", Code.InvalidArgument);
        yield { text: `echo: ${r.text}` };
      }
    },
  });
}
