/**
 * An unbounded-by-design but capped async queue: producers push without
 * waiting (the coordinator never blocks on a slow session), the consumer
 * iterates. Past `limit` queued messages the queue fails, so one stuck
 * session cannot grow memory without bound.
 */
export class MessageQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #error: unknown;

  constructor(private readonly limit = 10_000) {}

  push(item: T): void {
    if (this.#closed) return;
    if (this.#items.length >= this.limit) {
      this.close(new Error(`more than ${this.limit} messages waiting: the receiver is too slow`));
      return;
    }
    this.#items.push(item);
    this.#wake?.();
  }

  /** Ends iteration once the queued items are out (or at once with an error). */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#error !== undefined) throw this.#error;
      const item = this.#items.shift();
      if (item !== undefined) yield item;
      else if (this.#closed) return;
      else {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
      }
    }
  }
}
