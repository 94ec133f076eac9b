import { describe, expect, it } from "vitest";
import { isCacheError } from "./errors.js";
import { asAsync, bodyLength, bodySlices, collectBody, discardBody, MAX_CHUNK_BYTES, rechunk } from "./object-body.js";

const bytes = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i + seed) % 251);
function concat(parts: Iterable<Uint8Array>): Uint8Array {
  const list = [...parts];
  const out = new Uint8Array(list.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of list) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}
async function all(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of source) out.push(c);
  return out;
}

describe("object bodies", () => {
  it("slices one buffer into chunks of at most 64 KiB", () => {
    const body = bytes(150_000);
    const chunks = [...bodySlices(body)];
    expect(chunks.map((c) => c.byteLength)).toEqual([MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, 150_000 - 2 * MAX_CHUNK_BYTES]);
    expect(Buffer.from(concat(chunks)).equals(body)).toBe(true);
  });

  it("cuts a range across a list of chunks", () => {
    const parts = [bytes(10, 0), bytes(10, 10), bytes(10, 20)];
    const whole = concat(parts);
    expect(bodyLength(parts)).toBe(30);
    for (const [s, e] of [
      [0, 30],
      [5, 25],
      [10, 20],
      [29, 30],
      [12, 13],
    ] as const) {
      expect(concat(bodySlices(parts, s, e, 4))).toEqual(whole.subarray(s, e));
      expect([...bodySlices(parts, s, e, 4)].every((c) => c.byteLength <= 4 && c.byteLength > 0)).toBe(true);
    }
    expect([...bodySlices(parts, 7, 7)]).toEqual([]);
  });

  it("rechunks a stream", async () => {
    const out = await all(rechunk(asAsync([bytes(5), bytes(9)]), 4));
    expect(out.map((c) => c.byteLength)).toEqual([4, 1, 4, 4, 1]);
  });

  it("collects exactly the declared size into a private copy", async () => {
    const src = [bytes(3), bytes(4, 3)];
    const got = await collectBody(asAsync(src), 7);
    expect(got).toEqual(bytes(7));
    src[0]![0] = 99;
    expect(got[0]).toBe(0);
  });

  it("fails a body longer or shorter than declared as unavailable", async () => {
    await expect(collectBody(asAsync([bytes(8)]), 7)).rejects.toSatisfy((e) => isCacheError(e, "unavailable"));
    await expect(collectBody(asAsync([bytes(6)]), 7)).rejects.toSatisfy((e) => isCacheError(e, "unavailable"));
  });

  it("stops and closes the source when cancelled", async () => {
    let closed = false;
    async function* source() {
      try {
        yield bytes(1);
        yield bytes(1);
        yield bytes(1);
      } finally {
        closed = true;
      }
    }
    const ac = new AbortController();
    ac.abort();
    await expect(collectBody(source(), 3, ac.signal)).rejects.toSatisfy((e) => isCacheError(e, "cancelled"));
    expect(closed).toBe(true);
  });

  it("discards a body by returning its iterator", async () => {
    let closed = false;
    const body: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: bytes(1) }),
        return: async () => {
          closed = true;
          return { done: true, value: undefined };
        },
      }),
    };
    await discardBody(body);
    expect(closed).toBe(true);
  });
});
