// @ts-check
/** First retry after this long; doubled on each failure in a row, up to `maxDelayMs`. */
const firstDelayMs = 250;
const maxDelayMs = 10_000;

/**
 * How long to wait before the next attempt after `failuresInARow` (≥ 1)
 * failures: 250 ms doubling to 10 s, half of it random so that many open
 * pages do not all come back at once.
 * @param {number} failuresInARow
 * @param {() => number} [random] in [0, 1)
 */
export function retryDelayMs(failuresInARow, random = Math.random) {
  const ceiling = Math.min(maxDelayMs, firstDelayMs * 2 ** (Math.max(1, failuresInARow) - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
