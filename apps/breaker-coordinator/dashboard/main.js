// @ts-check
import { wireAdminPanel } from "./admin-panel.js";
import { watchBreakers } from "./breaker-watch.js";
import { renderBreakers } from "./breakers-view.js";
import { callUnary, presentTokenFrom } from "./connect-client.js";
import { el } from "./dom.js";
import { FleetModel } from "./fleet-model.js";
import { duration } from "./format.js";
import { renderInstances } from "./instances-view.js";
import { refreshRelativeTimes } from "./relative-time.js";
import { renderTimeline } from "./timeline-view.js";

/** Instances' liveness and the windows' counts change without a transition: read them this often. */
const refreshMs = 2_000;

const byId = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const model = new FleetModel();
const form = /** @type {HTMLFormElement} */ (byId("admin"));
const breakerField = /** @type {HTMLInputElement} */ (form.elements.namedItem("breaker"));
presentTokenFrom(() => /** @type {HTMLInputElement} */ (form.elements.namedItem("token")).value);

const manage = (/** @type {string} */ name) => {
  breakerField.value = name;
  form.scrollIntoView({ behavior: "smooth", block: "nearest" });
  /** @type {HTMLInputElement} */ (form.elements.namedItem("reason")).focus();
};
model.subscribe("breakers", () => {
  renderBreakers(byId("breakers"), model.breakers.values(), manage);
  byId("breaker-names").replaceChildren(...[...model.breakers.keys()].map((name) => el("option", { value: name })));
});
model.subscribe("instances", () => renderInstances(byId("instances"), model.instances));
model.subscribe("timeline", () => renderTimeline(byId("timeline"), model.timeline));
model.subscribe("link", () => {
  const link = byId("link");
  link.textContent = model.link.message;
  link.className = model.link.connected ? "link live" : "link down";
});
for (const part of /** @type {const} */ (["breakers", "instances", "timeline"])) model.changed(part);

wireAdminPanel(form, byId("admin-status"), (breaker) => model.putBreaker(breaker));

async function readBreakers() {
  const answer = await callUnary("ListBreakers", {});
  model.setBreakers(answer.breakers ?? []);
}

async function readInstances() {
  const answer = await callUnary("ListInstances", {});
  model.setInstances(answer.instances ?? []);
}

/** After a transition the rest of the breaker (window, override, instances) is read in full. @param {string} name */
async function readBreaker(name) {
  const answer = await callUnary("GetBreaker", { name });
  if (answer.breaker) model.putBreaker(answer.breaker);
}

const ignore = () => undefined;

let streaming = false;
watchBreakers({
  onSubscribed: () => {
    streaming = true;
    // Whatever changed while the stream was down is read again; the link is live once that read works.
    void readBreakers()
      .then(() => streaming && model.setLink(true, "live: following WatchBreakers"))
      .catch(ignore);
    void readInstances().catch(ignore);
  },
  onTransition: (t) => {
    model.applyTransition(t);
    if (t.breaker?.name) void readBreaker(t.breaker.name).catch(ignore);
  },
  onDisconnected: (why, retryInMs) => {
    streaming = false;
    model.setLink(false, `disconnected (${why}); reconnecting in ${duration(retryInMs)}…`);
  },
});

setInterval(() => {
  void readInstances().catch(ignore);
  void readBreakers().catch(ignore);
}, refreshMs);
setInterval(() => refreshRelativeTimes(document, Date.now()), 1_000);
