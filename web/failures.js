// The orders that did not reach the POS: the POS's reason, "Sync now" for each, and "Replay
// failed orders" for all of them.
"use strict";

import { API, post } from "./api.js";
import { hooks, state, unanswered } from "./app.js";
import { $, append, badge, h, money, problem, timeEl } from "./dom.js";

// What "Sync now" answered for each order, so its words outlive the page's refreshes.
const said = new Map();

export function drawFailures(f) {
  if (f.error) return problem(f.error);
  if (f.rows.length === 0) return h("p", {}, badge("ok", "None"), " Every order reached the POS or is on its way.");
  return h("ul", { class: "failures" }, f.rows.map(failureRow));
}

function failureRow({ log, order }) {
  const status = log.status === "failed"
    ? badge("bad", "Failed")
    : badge("warn", `Retrying (${log.retry_count} of ${log.max_retries})`);
  const answer = said.get(log.order_id);
  const result = h("span", { class: "result", role: "status" }, answer ? dispatchWords(answer) : null);
  const button = h("button", {
    type: "button",
    class: "sync-now",
    "data-order": log.order_id,
    onclick: () => syncNow(log.order_id, button, result),
  }, "Sync now");
  const who = order
    ? [h("strong", { class: "customer" }, order.customer_name), " · ", money(order.total, order.currency)]
    : [h("strong", {}, `Order ${log.order_id.slice(0, 8)}`)];
  return h("li", { class: "failure", "data-order": log.order_id },
    h("div", { class: "row" }, status, " ", who, " · ", timeEl(log.created_at)),
    h("p", { class: "reason" }, log.error_message || "no reason given"),
    log.status !== "retry" ? null
      : state.health === "circuit_open" ? h("p", { class: "muted held" }, "Held until the POS answers again")
      : log.next_retry_at ? h("p", { class: "muted" }, "Next try ", timeEl(log.next_retry_at)) : null,
    h("div", { class: "actions" }, button, result));
}

async function syncNow(orderId, button, result) {
  button.disabled = true;
  result.textContent = "Sending…";
  try {
    const resp = await post(`${API}/pos/sync/${orderId}`);
    if (resp.ok) {
      said.set(orderId, resp.data.dispatch);
      result.replaceChildren();
      append(result, dispatchWords(resp.data.dispatch));
      setTimeout(hooks.refresh, 1000);
    } else {
      result.textContent = resp.error;
    }
  } catch (e) {
    result.textContent = unanswered(e);
  } finally {
    button.disabled = false;
  }
}

// When the server says the order goes: now, or after the POS's 429 wait, or once it answers.
function dispatchWords(d) {
  switch (d && d.state) {
    case "sending": return ["Already being sent to the POS."];
    case "now": return ["Queued: sending to the POS now."];
    case "paused": return ["Queued: the POS asked us to wait (too many requests); it goes ", timeEl(d.at), ", not before."];
    case "held": return ["Queued: it goes when the POS answers again", d.at ? [" (next try ", timeEl(d.at), ")"] : "", "."];
    case "later": return ["Queued: it goes ", timeEl(d.at), "."];
    default: return [d ? d.message : "Queued."];
  }
}

export async function replay() {
  const button = $("replay-failed");
  const result = $("replay-result");
  button.disabled = true;
  result.textContent = "Replaying…";
  try {
    // One replay sends at most 500 (the oldest failures first); the answer says when more are left.
    const resp = await post(`${API}/pos/replay`, { business_id: state.business.id, limit: 500 });
    if (!resp.ok) result.textContent = resp.error;
    else {
      const skipped = resp.data.skipped || [];
      result.replaceChildren(`${resp.data.queued} order${resp.data.queued === 1 ? "" : "s"} sent again.`,
        resp.data.more ? " More failed orders are left: press Replay again to send the next ones." : "",
        skipped.length ? ` ${skipped.length} skipped: ` : "",
        skipped.slice(0, 5).map((s) => `${s.order_id.slice(0, 8)} (${s.reason})`).join("; "));
      setTimeout(hooks.refresh, 1000);
    }
  } catch (e) {
    result.textContent = unanswered(e);
  } finally {
    button.disabled = false;
  }
}
