import { request, type IncomingHttpHeaders } from "node:http";

/** A GET answered in full. */
export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One HTTP request on a fresh connection, its body read whole. */
export function get(url: string, method = "GET", body?: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer within 10 s`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Asks `url` until `ok` accepts an answer (10 s at most); answers that answer. */
export async function until(url: string, ok: (a: Answer) => boolean, what: string): Promise<Answer> {
  let last: Answer | Error | undefined;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    last = await get(url).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    if (last instanceof Error) continue;
    try {
      if (ok(last)) return last;
    } catch {
      // e.g. a body that is not the JSON expected yet: ask again
    }
  }
  const seen =
    last instanceof Error
      ? last.message
      : last === undefined
        ? "nothing"
        : `${last.status}, ${last.body.byteLength} bytes, ${JSON.stringify(last.headers)}`;
  throw new Error(`${what}: not within 10 s (last answer: ${seen})`);
}
