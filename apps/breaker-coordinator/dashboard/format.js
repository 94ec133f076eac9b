// @ts-check
/** How times, durations and enum names read on the page. */

/** "BREAKER_STATE_HALF_OPEN" → "HALF_OPEN"; absent → the zero value's name. @param {string | undefined} name @param {string} prefix */
export function enumName(name, prefix) {
  return (name ?? `${prefix}UNSPECIFIED`).slice(prefix.length);
}

/** "12:04:05 (3m 2s ago)"; "—" when absent. @param {string | undefined} timestamp @param {number} now */
export function timeAgo(timestamp, now) {
  if (!timestamp) return "—";
  const at = Date.parse(timestamp);
  return `${clock(at)} (${duration(now - at)} ago)`;
}

/** "12:09:05 (in 4m 58s)"; "—" when absent. @param {string | undefined} timestamp @param {number} now */
export function timeUntil(timestamp, now) {
  if (!timestamp) return "—";
  const at = Date.parse(timestamp);
  return at <= now ? `${clock(at)} (lapsed)` : `${clock(at)} (in ${duration(at - now)})`;
}

/** Local wall-clock time, seconds included. @param {number} ms */
export function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

/** "2h 5m", "4m 58s", "12s". @param {number} ms */
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** "30s", "5m", "1h" → a protobuf JSON Duration ("300s"); "" → undefined; else throws. @param {string} text */
export function parseTtl(text) {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const match = /^(\d+)\s*(s|m|h)?$/.exec(trimmed);
  if (match === null) throw new RangeError(`ttl must look like 30s, 5m or 1h, got ${JSON.stringify(trimmed)}`);
  const unit = { s: 1, m: 60, h: 3600 }[match[2] ?? "s"] ?? 1;
  return `${Number(match[1]) * unit}s`;
}
