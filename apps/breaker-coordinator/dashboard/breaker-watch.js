// @ts-check
import { callServerStream } from "./connect-client.js";
import { retryDelayMs } from "./retry-delay.js";

/** A stream that lasted this long counts as a success: the next failure starts the backoff again. */
const healthyAfterMs = 5_000;

/**
 * Follows WatchBreakers for as long as the page is open: reconnects by itself
 * with backoff and jitter after the coordinator goes away.
 *
 * The coordinator's HTTP/1.1 port answers a stream's headers with its first
 * message, so a quiet stream cannot be told from one still connecting.
 * `onSubscribed` therefore fires as soon as the request is sent: the page
 * re-reads the breakers then, and a transition that slips between that read
 * and the watch taking hold is caught by the page's periodic re-read.
 * @param {{
 *   onTransition: (transition: any) => void,
 *   onSubscribed: () => void,
 *   onDisconnected: (why: string, retryInMs: number) => void,
 * }} handlers
 * @returns {() => void} stops watching
 */
export function watchBreakers(handlers) {
  const stop = new AbortController();
  let failuresInARow = 0;
  const run = async () => {
    while (!stop.signal.aborted) {
      const started = Date.now();
      let why = "the stream ended";
      try {
        const stream = callServerStream("WatchBreakers", {}, { signal: stop.signal });
        const first = stream.next();
        handlers.onSubscribed();
        for (let next = await first; !next.done; next = await stream.next()) {
          failuresInARow = 0;
          if (next.value.transition) handlers.onTransition(next.value.transition);
        }
      } catch (err) {
        why = err instanceof Error ? err.message : String(err);
      }
      if (stop.signal.aborted) return;
      failuresInARow = Date.now() - started >= healthyAfterMs ? 1 : failuresInARow + 1;
      const waitMs = retryDelayMs(failuresInARow);
      handlers.onDisconnected(why, waitMs);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  };
  void run();
  return () => stop.abort();
}
