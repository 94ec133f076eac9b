// @ts-check
import { el } from "./dom.js";
import { enumName } from "./format.js";
import { relativeTime } from "./relative-time.js";

/**
 * The instances table: each process with a session, its service, address and
 * liveness. A stale instance is detached: the coordinator has not heard from
 * it for three heartbeats, so if it still runs it decides on its own local
 * breakers. "Local opens" are breakers it holds open for itself (no quorum).
 * @param {HTMLElement} container
 * @param {any[]} instances protobuf JSON `Instance`
 */
export function renderInstances(container, instances) {
  const sorted = [...instances].sort(
    (a, b) => (a.service ?? "").localeCompare(b.service ?? "") || (a.address ?? "").localeCompare(b.address ?? ""),
  );
  if (sorted.length === 0) {
    container.replaceChildren(el("p", { class: "empty" }, "No instance has opened a session."));
    return;
  }
  const head = el(
    "tr",
    {},
    ...["Instance", "Service", "Address", "Liveness", "Session", "Last seen", "Local opens", "Outcomes"].map((h) =>
      el("th", {}, h),
    ),
  );
  const rows = sorted.map((i) => {
    const status = enumName(i.status, "INSTANCE_STATUS_");
    const live = status === "LIVE";
    return el(
      "tr",
      { "data-instance": i.instanceId, class: live ? "live" : "stale" },
      cell("Instance", "id", el("code", {}, i.instanceId)),
      cell("Service", "service", i.service ?? ""),
      cell("Address", "address", el("code", {}, i.address || "—")),
      cell("Liveness", "liveness", el("span", { class: "badge" }, status)),
      cell("Session", "session", live ? "attached" : "detached"),
      cell("Last seen", "last-seen", relativeTime(i.lastSeen, "ago")),
      cell("Local opens", "locally-open", (i.locallyOpen ?? []).join(", ") || "—"),
      cell("Outcomes", "outcomes", `${i.successes ?? 0} ok · ${i.failures ?? 0} failed`),
    );
  });
  container.replaceChildren(el("table", { class: "instances" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

/** @param {string} label @param {string} field @param {...(Node | string)} content */
function cell(label, field, ...content) {
  return el("td", { "data-label": label, "data-field": field }, ...content);
}
