/** A request-target split into its path and query, the path exactly as sent. */
export interface RequestTarget {
  /** Still percent-encoded, dot segments and all: nothing normalised away. */
  readonly pathname: string;
  readonly query: URLSearchParams;
}

/**
 * Splits the raw request-target (RFC 9112 3.2) into path and query without
 * WHATWG URL normalisation. `new URL()` would resolve `..` and `%2e%2e`
 * segments and turn `\` into `/`, so `/objects/default/%2e%2e/other/k` would
 * silently become bucket `other`: object paths must be judged as sent.
 * The absolute-form (`http://host/path`, RFC 9112 3.2.2) is accepted too;
 * anything else (`*`, authority-form) has no path and answers undefined.
 */
export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  let target = raw ?? "";
  if (!target.startsWith("/")) {
    const absolute = /^https?:\/\/[^/?#]*/i.exec(target);
    if (absolute === null) return undefined;
    target = target.slice(absolute[0].length);
    if (!target.startsWith("/")) target = `/${target}`;
  }
  // A fragment is never sent (RFC 9110 4.2.5); cut one off rather than take it for part of a key.
  const hash = target.indexOf("#");
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf("?");
  return q < 0
    ? { pathname: target, query: new URLSearchParams() }
    : { pathname: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) };
}
