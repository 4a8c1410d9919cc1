// Reading what the dashboard shows: every call of one refresh, in parallel.
"use strict";

import { API, get, has } from "./api.js";
import { dayIn } from "./dom.js";

const TODAY_PAGES = 5; // at most 5 × 200 sync logs are read to count today's
const FAILURES_SHOWN = 10;

/** Everything the dashboard shows, read in parallel. */
export async function load(b) {
  const id = b.id;
  const asked = get(`${API}/pos/integration/${id}`);
  // The mapping compares dishes with the POS's catalog: only a connected business has one.
  const mappingOf = async () => {
    const integration = await asked;
    return integration.ok && has("get", "/pos/mapping/{businessId}") ? get(`${API}/pos/mapping/${id}`) : null;
  };
  const [integration, stats, today, failures, notifications, mapping] = await Promise.all([
    asked,
    get(`${API}/pos/stats/${id}`),
    loadToday(b),
    loadFailures(id),
    get(`${API}/notifications?business_id=${id}&unread_only=true&limit=20`),
    mappingOf(),
  ]);
  return { integration, stats, today, failures, notifications, mapping };
}

/**
 * Where today's orders are: each order counted once, by its latest create sync (test orders
 * left out, as stats leave them out). An order placed yesterday and sent today is not counted.
 */
async function loadToday(b) {
  const today = dayIn(new Date().toISOString(), b.timezone);
  const counts = { success: 0, failed: 0, waiting: 0, complete: true };
  // An order sent again has several logs: its newest (history is newest first) says where it is.
  const seen = new Set();
  for (let page = 0; page < TODAY_PAGES; page++) {
    const resp = await get(`${API}/pos/history/${b.id}?limit=200&offset=${page * 200}`);
    if (!resp.ok) return { error: resp.error };
    const logs = resp.data.logs;
    for (const log of logs) {
      if (dayIn(log.created_at, b.timezone) !== today) return counts;
      if (log.is_test === true || (log.action && log.action !== "create")) continue;
      if (seen.has(log.order_id)) continue;
      seen.add(log.order_id);
      if (log.status === "success") counts.success++;
      else if (log.status === "failed") counts.failed++;
      else counts.waiting++;
    }
    if (logs.length < 200) return counts;
  }
  counts.complete = false;
  return counts;
}

/**
 * The orders whose latest sync failed or waits to retry, newest first, each with its order.
 * History keeps every log, so an order sent again since shows up once more: the order's own
 * latest log says whether it still needs attention.
 */
async function loadFailures(businessId) {
  const [failed, retry] = await Promise.all([
    get(`${API}/pos/history/${businessId}?status=failed&limit=${FAILURES_SHOWN}`),
    get(`${API}/pos/history/${businessId}?status=retry&limit=${FAILURES_SHOWN}`),
  ]);
  if (!failed.ok) return { error: failed.error };
  const logs = [...failed.data.logs, ...(retry.ok ? retry.data.logs : [])]
    .filter((log) => !log.action || log.action === "create")
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  const seen = new Set();
  const rows = [];
  for (const log of logs) {
    if (seen.has(log.order_id) || rows.length >= FAILURES_SHOWN) continue;
    seen.add(log.order_id);
    rows.push(log);
  }
  const withOrders = await Promise.all(
    rows.map(async (log) => {
      const resp = await get(`${API}/orders/${log.order_id}`);
      return resp.ok ? { log: resp.data.sync_log || log, order: resp.data.order } : { log };
    }),
  );
  return {
    rows: withOrders.filter((r) => r.log.status === "failed" || r.log.status === "retry"),
    failedTotal: failed.data.total,
  };
}
