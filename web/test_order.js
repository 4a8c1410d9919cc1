// "Send test order": the order's way to the POS, step by step, with the milliseconds.
"use strict";

import { API, get, post } from "./api.js";
import { hooks, state, unanswered } from "./app.js";
import { $, badge, h, problem } from "./dom.js";

const STEPS = [
  ["queued", "Queued in possync"],
  ["sent", "Sent to the POS"],
  ["pos", "In the POS"],
];

function drawSteps(done, notes, failure) {
  const list = h("ol", { class: "steps" }, STEPS.map(([key, words]) => {
    const tone = done[key] ? "ok" : failure && !done[key] ? "bad" : "off";
    return h("li", { class: `step ${key}`, "data-step": key, "data-done": done[key] ? "yes" : "no" },
      badge(tone, done[key] ? "Done" : failure ? "No" : "Waiting"), " ", words, notes[key] ? ` ${notes[key]}` : "");
  }));
  // replaceChildren() would show a null as the text "null".
  return failure ? [list, problem(failure)] : [list];
}

const ms = (from, to) => `${Math.max(0, new Date(to) - new Date(from))} ms`;

export async function sendTestOrder() {
  const button = $("send-test");
  const body = $("card-test").querySelector(".body");
  const run = ++state.testRun;
  button.disabled = true;
  body.replaceChildren(...drawSteps({}, {}));
  try {
    const resp = await post(`${API}/pos/test-order/${state.business.id}`);
    if (!resp.ok) {
      body.replaceChildren(problem(resp.error));
      return;
    }
    const order = resp.data.order;
    const done = { queued: true };
    const notes = { queued: `at ${new Date(order.created_at).toLocaleTimeString()}` };
    body.replaceChildren(...drawSteps(done, notes));
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline && run === state.testRun) {
      await new Promise((r) => setTimeout(r, 250));
      const now = await get(`${API}/orders/${order.id}`);
      const log = now.ok ? now.data.sync_log : null;
      if (!log) continue;
      if (log.status !== "pending") {
        const attempts = await get(`${API}/pos/sync-logs/${log.id}/attempts`);
        const first = attempts.ok && attempts.data.attempts[0];
        if (first) {
          done.sent = true;
          notes.sent = `after ${ms(order.created_at, first.started_at)}`;
        } else if (log.status === "syncing") {
          done.sent = true;
        }
      }
      if (log.status === "success") {
        done.sent = true;
        done.pos = true;
        notes.pos = `after ${ms(order.created_at, log.completed_at)} in all (the POS took ${log.duration_ms} ms)` +
          (log.pos_order_id ? `: POS order ${log.pos_order_id}` : "");
        if (log.pos_visible === false) notes.pos += " — created, but not shown on the POS until paid";
        body.replaceChildren(...drawSteps(done, notes));
        return;
      }
      if (log.status === "failed") {
        body.replaceChildren(...drawSteps(done, notes, `The POS did not take it: ${log.error_message || "no reason given"}`));
        return;
      }
      const waiting = log.status === "retry" ? `: waiting to retry (${log.error_message || ""})` : "";
      body.replaceChildren(...drawSteps(done, { ...notes, pos: waiting }));
    }
    if (run === state.testRun) body.replaceChildren(...drawSteps(done, notes, "Not in the POS after 30 s: see the failures below."));
  } catch (e) {
    body.replaceChildren(problem(unanswered(e)));
  } finally {
    button.disabled = false;
    hooks.refresh();
  }
}
