/**
 * Lets through one log line per kind per window and counts the rest, so
 * that an outage, when every call fails the same way, costs a line a second
 * instead of a line per call.
 */
export interface LogThrottle {
  /**
   * Whether a line of this kind may be written now; when it may, `suppressed`
   * is how many of its kind were held back since the last one written.
   */
  admit(kind: string): { readonly write: boolean; readonly suppressed: number };
}

export function createLogThrottle(options: {
  readonly windowMs: number;
  readonly now?: () => number;
  readonly maxKinds?: number;
}): LogThrottle {
  const now = options.now ?? (() => performance.now());
  const maxKinds = options.maxKinds ?? 1_000;
  const kinds = new Map<string, { writtenAt: number; suppressed: number }>();
  return {
    admit(kind) {
      const t = now();
      const seen = kinds.get(kind);
      if (seen !== undefined && t - seen.writtenAt < options.windowMs) {
        seen.suppressed++;
        return { write: false, suppressed: 0 };
      }
      const suppressed = seen?.suppressed ?? 0;
      // Kinds come from messages: bound the map so odd messages cannot grow it without end.
      if (seen === undefined && kinds.size >= maxKinds) kinds.clear();
      kinds.set(kind, { writtenAt: t, suppressed: 0 });
      return { write: true, suppressed };
    },
  };
}
