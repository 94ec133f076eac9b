// @ts-check
import { callUnary, RpcError } from "./connect-client.js";
import { parseTtl } from "./format.js";

/**
 * The force/reset form. The admin token is read from its password field at
 * each call and sent only as `authorization: Bearer …`: it is never stored
 * (no cookie, no web storage), so a reload forgets it. The calls are POSTs
 * with `content-type: application/json` and that header, which a cross-site
 * form cannot send, and the page sends no cookies: there is no CSRF path.
 * @param {HTMLFormElement} form
 * @param {HTMLElement} status where the outcome is said
 * @param {(breaker: any) => void} onAnswer the breaker as the coordinator answered
 */
export function wireAdminPanel(form, status, onAnswer) {
  const field = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
  const say = (/** @type {string} */ text, /** @type {boolean} */ failed) => {
    status.textContent = text;
    status.className = failed ? "status error" : "status ok";
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submitter = /** @type {SubmitEvent} */ (event).submitter;
    const action = submitter?.getAttribute("value") === "reset" ? "reset" : "force";
    const name = field("breaker").value.trim();
    const token = field("token").value;
    const mode = field("mode").value;
    if (name === "") return say("Name a breaker first.", true);
    status.textContent = "Sending…";
    status.className = "status";
    try {
      const answer =
        action === "reset"
          ? await callUnary("ResetBreaker", { name }, { token })
          : await callUnary(
              "ForceBreaker",
              { name, mode: `FORCE_MODE_${mode}`, reason: field("reason").value, ttl: parseTtl(field("ttl").value) },
              { token },
            );
      if (answer.breaker) onAnswer(answer.breaker);
      say(action === "reset" ? `Reset ${name}.` : `Forced ${name} ${mode}.`, false);
    } catch (err) {
      say(refusal(err, token), true);
    }
  });
}

/** What to tell the operator when a call fails. @param {unknown} err @param {string} token */
function refusal(err, token) {
  if (err instanceof RpcError && (err.code === "unauthenticated" || err.code === "permission_denied")) {
    return token === ""
      ? `Refused: type the admin token (BW_ADMIN_TOKEN) first. (${err.message})`
      : `Refused: the admin token is wrong. (${err.message})`;
  }
  return `Failed: ${err instanceof Error ? err.message : String(err)}`;
}
