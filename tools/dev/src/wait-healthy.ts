import { readFileSync } from "node:fs";
import * as https from "node:https";
import { describeExit, type ChildExit } from "./child-service.js";

/** Why a service did not come up; the message names it and says what to look at. */
export class ServiceStartError extends Error {
  override readonly name = "ServiceStartError";
  constructor(
    readonly service: string,
    readonly reason: "exited" | "timeout" | "aborted",
    message: string,
  ) {
    super(message);
  }
}

/** Options of `waitHealthy`. */
export interface WaitHealthyOptions {
  /** Service name for messages. */
  readonly service: string;
  /** Answers 200 once the service is up. */
  readonly url: string;
  readonly timeoutMs: number;
  /** Pause between attempts (default 100 ms). */
  readonly intervalMs?: number;
  /** Settles if the process exits: waiting stops at once then. */
  readonly exited?: Promise<ChildExit>;
  /** Stops waiting (Ctrl-C during start). */
  readonly signal?: AbortSignal;
  /** For an https URL under mTLS: the CA to trust and the client certificate to present (PEM paths). */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string } | undefined;
}

/**
 * Polls `url` until it answers 200. Rejects with a ServiceStartError naming
 * the service when the process exits first, when `timeoutMs` passes (with the
 * last thing the URL answered), or when `signal` aborts.
 */
export async function waitHealthy(options: WaitHealthyOptions): Promise<void> {
  const { service, url, timeoutMs } = options;
  const interval = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let exit: ChildExit | undefined;
  void options.exited?.then((e) => (exit = e));
  let last = "no answer yet";
  const get = options.tls ? httpsGetter(options.tls) : fetchStatus;
  for (;;) {
    if (options.signal?.aborted) throw new ServiceStartError(service, "aborted", `start of ${service} was interrupted`);
    if (exit !== undefined) {
      throw new ServiceStartError(
        service,
        "exited",
        `${service} ${describeExit(exit)} before it became healthy (its output is above)`,
      );
    }
    // Each attempt gets at least 250 ms, so the last one is not cut short
    // into a misleading "no answer" (the deadline may pass by that much).
    const attemptMs = Math.min(2_000, Math.max(250, deadline - Date.now()));
    try {
      const timeout = AbortSignal.timeout(attemptMs);
      const status = await get(url, options.signal ? AbortSignal.any([timeout, options.signal]) : timeout);
      if (status === 200) return;
      last = `HTTP ${status}`;
    } catch (err) {
      last = describeFetchError(err);
    }
    if (Date.now() >= deadline) {
      throw new ServiceStartError(
        service,
        "timeout",
        `${service} did not become healthy within ${formatSeconds(timeoutMs)} (GET ${url}: ${last})`,
      );
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), options.exited, options.signal);
  }
}

/** GET `url`'s status with fetch. */
async function fetchStatus(url: string, signal: AbortSignal): Promise<number> {
  const res = await fetch(url, { signal });
  await res.body?.cancel();
  return res.status;
}

/** GET `url`'s status over https with a CA and a client certificate (fetch takes neither). */
function httpsGetter(tls: {
  ca: string;
  cert: string;
  key: string;
}): (url: string, signal: AbortSignal) => Promise<number> {
  const pem = { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
  return (url, signal) =>
    new Promise((resolve, reject) => {
      const req = https.get(url, { ...pem, agent: false, signal }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
    });
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } })?.cause;
  if (typeof cause?.code === "string") return cause.code === "ECONNREFUSED" ? "connection refused" : cause.code;
  if ((err as Error)?.name === "TimeoutError") return "no answer";
  return (err as Error)?.message ?? String(err);
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Waits `ms`, or less if the process exits or the signal aborts. */
function sleep(ms: number, exited: Promise<unknown> | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    void exited?.then(done);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
