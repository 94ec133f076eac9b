// @ts-check
/**
 * Calls the coordinator over the Connect protocol with JSON on this page's own
 * origin: unary calls are plain POSTs, server streams are enveloped JSON
 * (https://connectrpc.com/docs/protocol). No cookies are ever sent.
 */

const servicePath = "/breakwater.breaker.v1.BreakerCoordinator/";

/** The token the page's own reads present when the coordinator asks for one (a BW_TOKENS_FILE with `read`). */
let pageToken = () => "";

/**
 * Reads and the stream present the token `get` answers (the admin field, kept in memory only), so the page
 * also works where reading the fleet needs a token.
 * @param {() => string} get
 */
export function presentTokenFrom(get) {
  pageToken = get;
}

/** A failed call: the Connect error code ("unauthenticated", "unavailable", ...) and its message. */
export class RpcError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = "RpcError";
    this.code = code;
  }
}

/**
 * One unary call. `token`, when given, is sent as `authorization: Bearer …`.
 * @param {string} method e.g. "ListBreakers"
 * @param {object} request the request message as protobuf JSON
 * @param {{ token?: string, signal?: AbortSignal }} [options]
 * @returns {Promise<any>}
 */
export async function callUnary(method, request, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { "content-type": "application/json", "connect-protocol-version": "1" };
  const token = options.token ?? pageToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await send(method, headers, JSON.stringify(request), options.signal);
  const text = await response.text();
  const body = parseJson(text);
  if (!response.ok) throw new RpcError(body?.code ?? `http ${response.status}`, body?.message ?? text);
  return body;
}

/**
 * A server-streaming call: yields each message as it arrives; throws the
 * stream's error, or returns when the server ends it cleanly.
 * @param {string} method
 * @param {object} request
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {AsyncGenerator<any, void, void>}
 */
export async function* callServerStream(method, request, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { "content-type": "application/connect+json", "connect-protocol-version": "1" };
  const token = pageToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const payload = new TextEncoder().encode(JSON.stringify(request));
  const response = await send(method, headers, envelope(0, payload), options.signal);
  if (!response.ok || response.body === null) {
    const body = parseJson(await response.text());
    throw new RpcError(body?.code ?? `http ${response.status}`, body?.message ?? response.statusText);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = new Uint8Array(0);
  for (;;) {
    // An envelope: 1 byte of flags, 4 bytes of big-endian length, then the JSON message.
    while (buffered.length >= 5) {
      const length = new DataView(buffered.buffer, buffered.byteOffset, 5).getUint32(1);
      if (buffered.length < 5 + length) break;
      const flags = buffered[0];
      const message = parseJson(decoder.decode(buffered.subarray(5, 5 + length)));
      buffered = buffered.subarray(5 + length);
      if ((flags & 0x02) !== 0) {
        // The end-of-stream message: an error, or a clean end.
        if (message?.error) throw new RpcError(message.error.code ?? "unknown", message.error.message ?? "");
        return;
      }
      yield message;
    }
    const { done, value } = await reader.read();
    if (done) throw new RpcError("unavailable", "the stream broke off before its end message");
    buffered = concat(buffered, value);
  }
}

/**
 * @param {string} method
 * @param {Record<string, string>} headers
 * @param {BodyInit} body
 * @param {AbortSignal | undefined} signal
 */
async function send(method, headers, body, signal) {
  try {
    return await fetch(servicePath + method, {
      method: "POST",
      headers,
      body,
      signal,
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new RpcError("unavailable", `the coordinator cannot be reached (${String(err)})`);
  }
}

/** @param {number} flags @param {Uint8Array} payload */
function envelope(flags, payload) {
  const out = new Uint8Array(5 + payload.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** @param {string} text */
function parseJson(text) {
  try {
    return text === "" ? {} : JSON.parse(text);
  } catch {
    return undefined;
  }
}
