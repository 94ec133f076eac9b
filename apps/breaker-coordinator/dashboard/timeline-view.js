// @ts-check
import { el } from "./dom.js";
import { clock, enumName } from "./format.js";

/**
 * The recent transitions seen on WatchBreakers since the page opened, newest
 * first: when, which breaker, from → to, why, and whether an operator forced it.
 * @param {HTMLElement} container
 * @param {any[]} timeline protobuf JSON `BreakerTransition`
 */
export function renderTimeline(container, timeline) {
  if (timeline.length === 0) {
    container.replaceChildren(el("p", { class: "empty" }, "No transition since this page opened."));
    return;
  }
  const items = timeline.map((t) => {
    const view = t.breaker ?? {};
    const from = enumName(t.from, "BREAKER_STATE_");
    const to = enumName(view.state, "BREAKER_STATE_");
    return el(
      "li",
      { class: `state-${to.toLowerCase()}` },
      el("time", { datetime: t.at ?? "" }, t.at ? clock(Date.parse(t.at)) : "—"),
      " ",
      el("code", {}, view.name ?? ""),
      ` ${from} → `,
      el("span", { class: "badge" }, to),
      view.forced ? el("em", {}, " forced") : "",
      t.reason ? ` — ${t.reason}` : "",
    );
  });
  container.replaceChildren(el("ol", { class: "timeline" }, ...items));
}
