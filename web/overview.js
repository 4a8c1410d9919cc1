// The top of the dashboard: the one summary line, the POS connection, delivery health, today.
"use strict";

import { $, badge, fact, h, problem, providerName, timeEl } from "./dom.js";

const EXPIRY_WARNING_DAYS = 7;

/** The one line that says, at a glance, whether orders are flowing. */
export function renderSummary(d, integration) {
  const summary = $("summary");
  let tone = "ok";
  let words = "All good: orders are reaching the POS.";
  const health = integration && integration.health;
  const failedToday = d.today.failed || 0;
  const waiting = d.failures.rows ? d.failures.rows.filter((r) => r.log.status === "retry").length : 0;
  if (!integration) {
    tone = "off";
    words = d.integration.status === 404 ? "Not connected to a POS yet." : `Cannot read the POS connection: ${d.integration.error}`;
  } else if (!integration.is_active) {
    tone = "bad";
    words = "The POS connection is switched off: orders are not being sent.";
  } else if (integration.last_error && /reconnect/i.test(integration.last_error)) {
    tone = "bad";
    words = "The POS refused possync's access: reconnect the POS.";
  } else if (health && health.state === "circuit_open") {
    tone = "bad";
    words = "The POS is not answering: orders are held and will be sent when it answers again.";
  } else if (health && health.state === "failing") {
    tone = "bad";
    words = "Orders are failing to reach the POS.";
  } else if (health && health.state === "paused") {
    tone = "warn";
    words = "The POS asked possync to slow down: orders wait a little.";
  } else if (failedToday > 0) {
    tone = "warn";
    words = `${failedToday} order${failedToday === 1 ? "" : "s"} did not reach the POS today: see below.`;
  } else if (waiting > 0) {
    tone = "warn";
    words = `${waiting} order${waiting === 1 ? " waits" : "s wait"} to be sent again.`;
  }
  summary.className = `banner ${tone}`;
  summary.replaceChildren(badge(tone, { ok: "OK", warn: "Attention", bad: "Problem", off: "Not connected" }[tone]), " ", words);
}

export function drawIntegration({ integration: i, error }) {
  if (!i) {
    if (error && error.status === 404) {
      return h("p", {}, badge("off", "Not connected"), " Connect this business to its POS (Square, Zoho or Dine), e.g. from ", h("a", { href: "/docs" }, "/docs"), ".");
    }
    return problem(error ? error.error : "unknown");
  }
  const facts = [
    ...fact("POS", h("strong", { class: "provider" }, providerName(i.provider))),
    ...fact("State", i.is_active ? badge("ok", "Active") : badge("bad", "Inactive")),
  ];
  if (i.location_id) facts.push(...fact("Location", i.location_id));
  if (i.merchant_id) facts.push(...fact("Merchant", i.merchant_id));
  facts.push(...fact("Auto-sync", i.auto_sync_orders ? "on: every new order is sent" : "off: orders are sent by hand"));
  facts.push(...fact("Last sent", timeEl(i.last_sync_at)));
  facts.push(...fact("Token", tokenExpiry(i.token_expires_at)));
  facts.push(...fact("Errors in a row", String(i.error_count)));
  const out = [h("dl", { class: "facts" }, facts)];
  if (i.last_error) out.push(h("p", { class: "reason" }, h("strong", {}, "Last error: "), i.last_error));
  return out;
}

function tokenExpiry(iso) {
  if (!iso) return "does not expire";
  const days = (new Date(iso).getTime() - Date.now()) / 86400000;
  if (days < 0) return [badge("bad", "Expired"), " ", timeEl(iso), ": reconnect the POS"];
  if (days < EXPIRY_WARNING_DAYS) return [badge("warn", "Expires soon"), " ", timeEl(iso)];
  return ["expires ", timeEl(iso)];
}

const HEALTH = {
  ok: ["ok", "OK", "orders go straight through"],
  failing: ["bad", "Failing", "recent attempts failed; possync keeps retrying"],
  paused: ["warn", "Paused", "the POS asked to wait (rate limit)"],
  circuit_open: ["bad", "Circuit open", "the POS is not answering: orders are held, one probe per retry interval"],
};

export function drawHealth(health) {
  const [tone, word, why] = HEALTH[health.state] || ["off", health.state, ""];
  const queue = health.queue || {};
  const out = [h("p", { class: "health" }, badge(tone, word), " ", why)];
  const facts = [...fact("Failures in a row", String(health.consecutive_failures))];
  if (health.paused_until) facts.push(...fact("Paused until", timeEl(health.paused_until)));
  out.push(h("dl", { class: "facts" }, facts));
  out.push(
    h("ul", { class: "queue" }, [
      ["pending", "waiting to be sent"],
      ["syncing", "being sent now"],
      ["retry", "waiting to retry"],
      ["held", "held while the POS is down"],
    ].map(([k, words]) => h("li", { class: `q-${k}` }, h("strong", {}, String(queue[k] || 0)), " ", words))),
  );
  return out;
}

export function drawToday({ today, stats }) {
  const out = [];
  if (today.error) out.push(problem(today.error));
  else {
    const total = today.success + today.failed + today.waiting;
    if (total === 0) out.push(h("p", { class: "big muted" }, "No orders yet today"));
    else {
      const rate = Math.round((today.success / total) * 1000) / 10;
      // Orders still on their way are not failures, but a low rate of them is not "all good".
      const tone = today.failed > 0 ? (rate < 90 ? "bad" : "warn") : rate < 90 ? "warn" : "ok";
      out.push(
        h("p", { class: `big rate ${tone}` }, `${rate} %`),
        h("p", {}, `${today.success} of ${total} order${total === 1 ? "" : "s"}${today.complete ? "" : " (of the latest)"} reached the POS today`,
          today.failed ? ` · ${today.failed} failed` : "",
          today.waiting ? ` · ${today.waiting} on the way` : ""),
      );
    }
  }
  if (stats) {
    out.push(h("p", { class: "muted" },
      `All time: ${stats.total_syncs} syncs, ${stats.success_rate} % succeeded, ${stats.failed_syncs} failed, ${stats.pending_retries} waiting to retry.`));
  }
  return out;
}
