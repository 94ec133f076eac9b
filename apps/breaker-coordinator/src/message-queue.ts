/** Options of a MessageQueue. */
export interface MessageQueueOptions {
  /** Most messages waiting before the queue gives up on its receiver (default 10 000). */
  readonly limit?: number;
  /** The error the receiver gets once past the limit (default: a plain Error saying so). */
  readonly overflowError?: (limit: number) => unknown;
  /** Called once when the limit is passed, e.g. to stop producing for this receiver. */
  readonly onOverflow?: () => void;
}

/**
 * A capped async queue: producers push without waiting (the coordinator never
 * blocks on a slow session), the consumer iterates. Past `limit` queued
 * messages the queue fails: what was waiting is dropped at once and the
 * consumer's next read throws, so one stuck session cannot grow memory
 * without bound.
 */
export class MessageQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #error: unknown;
  readonly #limit: number;
  readonly #options: MessageQueueOptions;

  constructor(options: MessageQueueOptions = {}) {
    this.#limit = options.limit ?? 10_000;
    this.#options = options;
  }

  /** Messages waiting now. */
  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    if (this.#closed) return;
    if (this.#items.length >= this.#limit) {
      const error = this.#options.overflowError?.(this.#limit);
      this.close(error ?? new Error(`more than ${this.#limit} messages waiting: the receiver is too slow`));
      this.#options.onOverflow?.();
      return;
    }
    this.#items.push(item);
    this.#wake?.();
  }

  /** Ends iteration once the queued items are out, or at once with an error (the items are dropped). */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    if (error !== undefined) this.#items = [];
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
