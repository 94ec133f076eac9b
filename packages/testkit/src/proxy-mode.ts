/**
 * How a proxy from `startCountingProxy` treats the requests it receives: the
 * faults that storage and upstream services show in production, on demand.
 * Every request is counted whatever the mode.
 */
export type ProxyMode =
  /** Forward to the target (the default). */
  | { readonly kind: "pass" }
  /** Wait, then forward: a slow network or an overloaded backend. */
  | { readonly kind: "delay"; readonly ms: number }
  /** Answer this status without asking the target (e.g. 503 for an outage, 429 for throttling). */
  | {
      readonly kind: "status";
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  /** Reset the client's connection (TCP RST) as soon as the request arrives. */
  | { readonly kind: "reset" }
  /** Take the request and never answer: a hung backend that only a timeout detects. */
  | { readonly kind: "black-hole" };

/** A 503 with an S3-style XML error body, as S3 answers when it sheds load. */
export const s3Unavailable: ProxyMode = {
  kind: "status",
  status: 503,
  headers: { "content-type": "application/xml" },
  body:
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    "<Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>",
};

/** Rejects a mode that cannot be carried out, naming the bad value. */
export function checkProxyMode(mode: ProxyMode): ProxyMode {
  switch (mode.kind) {
    case "delay":
      if (!Number.isFinite(mode.ms) || mode.ms < 0) throw new RangeError(`proxy delay must be ≥ 0 ms, got ${mode.ms}`);
      return mode;
    case "status":
      if (!Number.isInteger(mode.status) || mode.status < 200 || mode.status > 599) {
        throw new RangeError(`proxy status must be 200–599, got ${mode.status}`);
      }
      return mode;
    case "pass":
    case "reset":
    case "black-hole":
      return mode;
  }
}
