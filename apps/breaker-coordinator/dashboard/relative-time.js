// @ts-check
import { el } from "./dom.js";
import { timeAgo, timeUntil } from "./format.js";

/**
 * A `<time>` that says how long ago (or how long until) a moment is, kept
 * current by `refreshRelativeTimes` without redrawing the tables around it.
 * @param {string | undefined} timestamp RFC 3339, or absent ("—")
 * @param {"ago" | "until"} kind
 */
export function relativeTime(timestamp, kind) {
  const node = el("time", timestamp ? { datetime: timestamp, "data-relative": kind } : {});
  node.textContent = render(timestamp, kind, Date.now());
  return node;
}

/** Rewrites every relative time under `root` for `now`. @param {ParentNode} root @param {number} now */
export function refreshRelativeTimes(root, now) {
  for (const node of root.querySelectorAll("time[data-relative]")) {
    const kind = node.getAttribute("data-relative") === "until" ? "until" : "ago";
    node.textContent = render(node.getAttribute("datetime") ?? undefined, kind, now);
  }
}

/** @param {string | undefined} timestamp @param {"ago" | "until"} kind @param {number} now */
function render(timestamp, kind, now) {
  return kind === "ago" ? timeAgo(timestamp, now) : timeUntil(timestamp, now);
}
