import { describe, expect, it } from "vitest";
import { MessageQueue } from "./message-queue.js";

/** Reads what the queue yields until it ends or throws. */
async function drain<T>(queue: MessageQueue<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of queue) items.push(item);
    return { items, error: undefined };
  } catch (error) {
    return { items, error };
  }
}

describe("MessageQueue", () => {
  it("hands over what was pushed, in order, and ends after a plain close", async () => {
    const q = new MessageQueue<number>();
    const read = drain(q);
    for (let i = 0; i < 5; i++) q.push(i);
    q.close();
    expect(await read).toEqual({ items: [0, 1, 2, 3, 4], error: undefined });
  });

  it("past its limit drops what waits, fails the reader with the overflow error and says so once", async () => {
    let overflows = 0;
    const q = new MessageQueue<number>({
      limit: 100,
      overflowError: (limit) => new Error(`behind by ${limit}`),
      onOverflow: () => overflows++,
    });
    for (let i = 0; i < 100; i++) q.push(i);
    expect(q.size).toBe(100);
    q.push(100); // one too many: a receiver that does not read is given up on
    expect(q.size).toBe(0); // nothing kept for it
    for (let i = 0; i < 1_000; i++) q.push(i); // and nothing more taken
    expect(q.size).toBe(0);
    expect(overflows).toBe(1);
    const { items, error } = await drain(q);
    expect(items).toEqual([]);
    expect(error).toEqual(new Error("behind by 100"));
  });

  it("wakes a waiting reader with the overflow error", async () => {
    const q = new MessageQueue<number>({ limit: 2 });
    const read = drain(q);
    q.push(1);
    await Promise.resolve();
    q.push(2);
    q.push(3);
    q.push(4); // the reader has not run yet: 3 waiting > 2
    const { error } = await read;
    expect(String(error)).toContain("more than 2 messages waiting");
  });

  it("keeps up with a reader that reads: the limit is about what waits, not what passed", async () => {
    const q = new MessageQueue<number>({ limit: 10 });
    const read = drain(q);
    for (let i = 0; i < 1_000; i++) {
      q.push(i);
      await new Promise<void>((r) => setImmediate(r));
    }
    q.close();
    const { items, error } = await read;
    expect(error).toBeUndefined();
    expect(items).toHaveLength(1_000);
  });
});
