// @ts-check
import { el } from "./dom.js";
import { enumName } from "./format.js";
import { relativeTime } from "./relative-time.js";

/**
 * The breakers table: one row per breaker with its state, since when and why,
 * the operator's override and its expiry, the window's counts and the
 * instances whose failures count. "Manage" hands the name to the admin panel.
 * @param {HTMLElement} container
 * @param {Iterable<any>} breakers protobuf JSON `Breaker`
 * @param {(name: string) => void} onManage
 */
export function renderBreakers(container, breakers, onManage) {
  const sorted = [...breakers].sort((a, b) => a.name.localeCompare(b.name));
  if (sorted.length === 0) {
    container.replaceChildren(el("p", { class: "empty" }, "No breakers yet: none has been used or forced."));
    return;
  }
  const head = el(
    "tr",
    {},
    ...["Breaker", "State", "Since", "Reason", "Override", "Window", "Instances", ""].map((h) => el("th", {}, h)),
  );
  const rows = sorted.map((b) => {
    const state = enumName(b.state, "BREAKER_STATE_");
    const manage = el("button", { type: "button", class: "manage" }, "Manage");
    manage.addEventListener("click", () => onManage(b.name));
    return el(
      "tr",
      { "data-breaker": b.name, class: `state-${state.toLowerCase()}` },
      cell("Breaker", "name", el("code", {}, b.name)),
      cell("State", "state", el("span", { class: "badge" }, state), openUntil(b)),
      cell("Since", "since", relativeTime(b.since, "ago")),
      cell("Reason", "reason", b.reason ?? ""),
      cell("Override", "override", override(b.override)),
      cell("Window", "window", windowCounts(b.window)),
      cell("Instances", "instances", (b.contributingInstances ?? []).join(", ") || "—"),
      cell("", "actions", manage),
    );
  });
  container.replaceChildren(el("table", { class: "breakers" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

/** A cell labelled for the phone layout (each row becomes a card). @param {string} label @param {string} field @param {...(Node | string)} content */
function cell(label, field, ...content) {
  return el("td", { "data-label": label, "data-field": field }, ...content);
}

/** @param {any} b */
function openUntil(b) {
  // A forced breaker stays open until its override lapses (shown with the override), not until a probe.
  if (!b.openUntil || b.override) return "";
  return el("small", {}, " half-open at ", relativeTime(b.openUntil, "until"));
}

/** @param {any} o protobuf JSON `Override`, or absent */
function override(o) {
  if (!o) return "none";
  return el(
    "span",
    {},
    el("strong", {}, `forced ${enumName(o.mode, "FORCE_MODE_")}`),
    o.reason ? `: ${o.reason}` : "",
    el("br"),
    o.expiresAt ? el("small", {}, "expires ", relativeTime(o.expiresAt, "until")) : el("small", {}, "until lifted"),
  );
}

/** @param {any} w protobuf JSON `WindowCounts`, or absent */
function windowCounts(w = {}) {
  const rate = Math.round((w.failureRate ?? 0) * 100);
  return `${w.successes ?? 0} ok · ${w.failures ?? 0} failed (${rate}%) · ${w.slowCalls ?? 0} slow · ${
    w.consecutiveFailures ?? 0
  } in a row`;
}
