// possync's status page: a small client of the public API (/docs describes every call it makes).
//
// Rules this file keeps:
// - Every string from the API reaches the page as text (text nodes, textContent), never as
//   HTML: nothing here parses a string as markup, so a dish named "<script>" shows as those
//   characters.
// - The login token lives in sessionStorage: it is sent only by this script, in the
//   Authorization header, so another site cannot make the browser use it (no cookie, no CSRF).
// - A part of the page that needs an operation this server does not have (the spec at
//   /openapi.json lists what it has) stays hidden rather than pretending.
"use strict";

const API = "/api/v1";
const REFRESH_MS = 5000;
const TOKEN_KEY = "possync.token";
const BUSINESS_KEY = "possync.business";
const EXPIRY_WARNING_DAYS = 7;
const TODAY_PAGES = 5; // at most 5 × 200 sync logs are read to count today's
const FAILURES_SHOWN = 10;

// ---- small DOM helpers -------------------------------------------------------------------

/** An element with attributes/handlers from `props` and `children` (strings become text). */
function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const $ = (id) => document.getElementById(id);

/** A state shown in colour and in words: `tone` is ok | warn | bad | off. */
function badge(tone, words) {
  const mark = { ok: "✓", warn: "!", bad: "✗", off: "–" }[tone] || "";
  return h("span", { class: `badge ${tone}` }, h("span", { "aria-hidden": "true" }, mark), " ", words);
}

function fact(term, ...value) {
  return [h("dt", {}, term), h("dd", {}, ...value)];
}

// ---- formatting --------------------------------------------------------------------------

function when(iso) {
  if (!iso) return "never";
  const t = new Date(iso);
  const seconds = Math.round((Date.now() - t.getTime()) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  let words;
  if (s < 45) return future ? "in a moment" : "just now";
  if (s < 3600) words = `${Math.round(s / 60)} min`;
  else if (s < 86400) words = `${Math.round(s / 3600)} h`;
  else words = `${Math.round(s / 86400)} days`;
  return future ? `in ${words}` : `${words} ago`;
}

function clock(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function timeEl(iso) {
  return h("time", { datetime: iso, title: clock(iso) }, when(iso));
}

function money(minor, currency) {
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(minor / 10 ** digits);
  } catch (_) {
    return `${minor} ${currency}`;
  }
}

const PROVIDERS = { square: "Square", zoho: "Zoho Inventory", dine: "Dine POS" };
const providerName = (p) => PROVIDERS[p] || p;

/** The calendar day of `iso` in `timeZone` (the business's), as YYYY-MM-DD. */
function dayIn(iso, timeZone) {
  const options = { year: "numeric", month: "2-digit", day: "2-digit" };
  try {
    return new Intl.DateTimeFormat("en-CA", { ...options, timeZone }).format(new Date(iso));
  } catch (_) {
    return new Intl.DateTimeFormat("en-CA", options).format(new Date(iso));
  }
}

// ---- the API -----------------------------------------------------------------------------

class SignedOut extends Error {}

/** One call: `{status, ok, data, message, error}`. Throws SignedOut on 401, TypeError offline. */
async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  let envelope = {};
  try {
    envelope = await resp.json();
  } catch (_) {
    envelope = {};
  }
  if (resp.status === 401 && token) throw new SignedOut();
  return {
    status: resp.status,
    ok: resp.ok && envelope.success === true,
    data: envelope.data,
    message: envelope.message,
    error: (envelope.error && envelope.error.message) || `HTTP ${resp.status}`,
  };
}

const get = (path) => call("GET", path);
const post = (path, body) => call("POST", path, body || {});

/** The operations this server has, from its spec: "post /api/v1/pos/replay", ... */
let operations = new Set();

async function loadOperations() {
  const resp = await fetch("/openapi.json", { cache: "no-store", credentials: "omit" });
  const spec = await resp.json();
  const found = new Set();
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of Object.keys(item)) found.add(`${method} ${path}`);
  }
  operations = found;
}

const has = (method, template) => operations.has(`${method} ${API}${template}`);

// ---- session -----------------------------------------------------------------------------

const state = {
  seller: null,
  businesses: [],
  business: null, // the business shown
  shown: new Map(), // card id -> JSON of what it shows, so an unchanged card is not redrawn
  orders: new Map(), // order id -> order (names and totals do not change)
  timer: null,
  refreshing: false,
  testRun: 0,
};

function show(id, visible) {
  $(id).hidden = !visible;
}

function signedOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(state.timer);
  state.timer = null;
  state.shown.clear();
  show("dashboard", false);
  show("no-business", false);
  show("session", false);
  show("login", true);
  $("login-error").textContent = message || "";
  $("email").focus();
}

async function signIn(event) {
  event.preventDefault();
  const button = $("login-submit");
  button.disabled = true;
  $("login-error").textContent = "";
  try {
    const resp = await post(`${API}/auth/login`, {
      email: $("email").value,
      password: $("password").value,
    });
    if (!resp.ok) {
      $("login-error").textContent = resp.error;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, resp.data.token);
    $("password").value = "";
    await start();
  } catch (e) {
    $("login-error").textContent = `Cannot reach possync: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  try {
    await post(`${API}/auth/logout`);
  } catch (_) {
    // Signed out here either way; the token expires on its own.
  }
  signedOut("Signed out.");
}

/** After sign-in (or a reload with a token): who, which businesses, then the dashboard. */
async function start() {
  try {
    const me = await get(`${API}/auth/me`);
    if (!me.ok) return signedOut();
    state.seller = me.data.seller;
    await loadOperations();
    const list = await get(`${API}/businesses?limit=200`);
    state.businesses = list.ok ? list.data.businesses : [];
  } catch (e) {
    if (e instanceof SignedOut) return signedOut("Your session ended: sign in again.");
    return offline(e);
  }
  show("login", false);
  show("session", true);
  $("who").textContent = state.seller.email;
  const select = $("business");
  select.replaceChildren(...state.businesses.map((b) => h("option", { value: b.id }, b.name)));
  // One business: its name as text; several: a picker.
  show("business", state.businesses.length > 1);
  $("business-name").textContent = state.businesses.length === 1 ? state.businesses[0].name : "";
  if (state.businesses.length === 0) {
    show("dashboard", false);
    show("no-business", true);
    return;
  }
  const remembered = sessionStorage.getItem(BUSINESS_KEY);
  const chosen = state.businesses.find((b) => b.id === remembered) || state.businesses[0];
  choose(chosen.id);
}

function choose(businessId) {
  state.business = state.businesses.find((b) => b.id === businessId);
  sessionStorage.setItem(BUSINESS_KEY, businessId);
  $("business").value = businessId;
  state.shown.clear();
  $("card-test").querySelector(".body").replaceChildren();
  $("replay-result").textContent = "";
  show("no-business", false);
  show("dashboard", true);
  show("card-test", has("post", "/pos/test-order/{businessId}"));
  show("replay", has("post", "/pos/replay"));
  clearInterval(state.timer);
  state.timer = setInterval(refresh, REFRESH_MS);
  refresh();
}

function offline(e) {
  const banner = $("offline");
  banner.textContent = `Cannot reach possync (${e.message}). Trying again every few seconds.`;
  banner.hidden = false;
}

// ---- loading -----------------------------------------------------------------------------

/** Everything the dashboard shows, read in parallel. */
async function load(b) {
  const id = b.id;
  const [integration, stats, today, failures, notifications, mapping] = await Promise.all([
    get(`${API}/pos/integration/${id}`),
    get(`${API}/pos/stats/${id}`),
    loadToday(b),
    loadFailures(id),
    get(`${API}/notifications?business_id=${id}&unread_only=true&limit=20`),
    has("get", "/pos/mapping/{businessId}") ? get(`${API}/pos/mapping/${id}`) : null,
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

// ---- refresh -----------------------------------------------------------------------------

async function refresh() {
  if (state.refreshing || !state.business) return;
  state.refreshing = true;
  const business = state.business;
  try {
    const data = await load(business);
    if (business !== state.business) return; // another business was picked meanwhile
    $("offline").hidden = true;
    render(data);
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${REFRESH_MS / 1000} s`;
  } catch (e) {
    if (e instanceof SignedOut) signedOut("Your session ended: sign in again.");
    else offline(e);
  } finally {
    state.refreshing = false;
  }
}

/** Redraw the body of card `id` with `draw(data)` only when `data` changed since last time. */
function card(id, data, draw) {
  const key = JSON.stringify(data);
  if (state.shown.get(id) === key) return;
  state.shown.set(id, key);
  $(id).querySelector(".body").replaceChildren(...[draw(data)].flat());
}

function render(d) {
  const integration = d.integration.ok ? d.integration.data.integration : null;
  renderSummary(d, integration);
  card("card-integration", { integration, error: d.integration.ok ? null : d.integration }, drawIntegration);
  show("card-health", Boolean(integration && integration.health));
  if (integration && integration.health) card("card-health", integration.health, drawHealth);
  card("card-today", { today: d.today, stats: d.stats.ok ? d.stats.data.stats : null }, drawToday);
  card("card-failures", d.failures, drawFailures);
  show("card-mapping", Boolean(d.mapping));
  if (d.mapping) card("card-mapping", d.mapping.ok ? d.mapping.data : { error: d.mapping.error }, drawMapping);
  card("card-notifications", d.notifications.ok ? d.notifications.data : { error: d.notifications.error }, drawNotifications);
}

/** The one line that says, at a glance, whether orders are flowing. */
function renderSummary(d, integration) {
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

// ---- the cards ---------------------------------------------------------------------------

function problem(text) {
  return h("p", { class: "form-error" }, text);
}

function drawIntegration({ integration: i, error }) {
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

function drawHealth(health) {
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

function drawToday({ today, stats }) {
  const out = [];
  if (today.error) out.push(problem(today.error));
  else {
    const total = today.success + today.failed + today.waiting;
    if (total === 0) out.push(h("p", { class: "big muted" }, "No orders yet today"));
    else {
      const rate = Math.round((today.success / total) * 1000) / 10;
      const tone = today.failed > 0 ? (rate < 90 ? "bad" : "warn") : "ok";
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

function drawFailures(f) {
  if (f.error) return problem(f.error);
  if (f.rows.length === 0) return h("p", {}, badge("ok", "None"), " Every order reached the POS or is on its way.");
  return h("ul", { class: "failures" }, f.rows.map(failureRow));
}

function failureRow({ log, order }) {
  const status = log.status === "failed"
    ? badge("bad", "Failed")
    : badge("warn", `Retrying (${log.retry_count} of ${log.max_retries})`);
  const result = h("span", { class: "result", role: "status" });
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
    log.status === "retry" && log.next_retry_at ? h("p", { class: "muted" }, "Next try ", timeEl(log.next_retry_at)) : null,
    h("div", { class: "actions" }, button, result));
}

async function syncNow(orderId, button, result) {
  button.disabled = true;
  result.textContent = "Sending…";
  try {
    const resp = await post(`${API}/pos/sync/${orderId}`);
    result.textContent = resp.ok ? "Queued: sending to the POS now." : resp.error;
    if (resp.ok) setTimeout(refresh, 1000);
  } catch (e) {
    result.textContent = e instanceof SignedOut ? "" : `Cannot reach possync: ${e.message}`;
    if (e instanceof SignedOut) signedOut("Your session ended: sign in again.");
  } finally {
    button.disabled = false;
  }
}

async function replay() {
  const button = $("replay-failed");
  const result = $("replay-result");
  button.disabled = true;
  result.textContent = "Replaying…";
  try {
    const resp = await post(`${API}/pos/replay`, { business_id: state.business.id });
    if (!resp.ok) result.textContent = resp.error;
    else {
      const skipped = resp.data.skipped || [];
      result.replaceChildren(`${resp.data.queued} order${resp.data.queued === 1 ? "" : "s"} sent again.`,
        skipped.length ? ` ${skipped.length} skipped: ` : "",
        skipped.slice(0, 5).map((s) => `${s.order_id.slice(0, 8)} (${s.reason})`).join("; "));
      setTimeout(refresh, 1000);
    }
  } catch (e) {
    result.textContent = `Cannot reach possync: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

const MAPPING = {
  mapped: ["ok", "Mapped"],
  unmapped: ["warn", "Not mapped"],
  missing: ["bad", "Missing in the POS"],
  price_differs: ["warn", "Price differs"],
};

function drawMapping(m) {
  if (m.error) return problem(m.error);
  const c = m.coverage;
  const currency = state.business.currency;
  const out = [
    h("p", { class: "coverage" },
      h("meter", { min: 0, max: Math.max(c.total, 1), value: c.mapped, "aria-label": "dishes mapped" }),
      ` ${c.mapped} of ${c.total} dishes mapped`,
      c.unmapped ? ` · ${c.unmapped} not mapped` : "",
      c.missing ? ` · ${c.missing} missing in the POS` : "",
      c.price_differs ? ` · ${c.price_differs} with another price` : ""),
  ];
  if (!m.catalog_fetched_at) out.push(h("p", { class: "muted" }, "The POS's catalog could not be read: no suggestions."));
  const open = m.dishes.filter((d) => d.status !== "mapped");
  if (open.length) {
    out.push(h("ul", { class: "dishes" }, open.map((d) => {
      const [tone, word] = MAPPING[d.status] || ["off", d.status];
      const s = d.suggestion;
      return h("li", { class: "dish", "data-dish": d.dish_id },
        h("div", { class: "row" }, badge(tone, word), " ", h("strong", { class: "dish-name" }, d.name), " · ", money(d.price, currency)),
        s ? h("p", { class: "suggestion" }, "Suggestion: ", h("span", { class: "pos-item" }, s.variation_name ? `${s.name} (${s.variation_name})` : s.name), ` · ${Math.round(s.score * 100)} % match`) : null,
        d.pos_item_name ? h("p", { class: "muted" }, "In the POS: ", d.pos_item_name) : null);
    })));
  }
  const suggested = open.filter((d) => d.suggestion).map((d) => d.dish_id);
  if (suggested.length) {
    const result = h("p", { class: "result", role: "status" });
    const button = h("button", {
      type: "button",
      id: "apply-suggestions",
      onclick: () => applySuggestions(suggested, button, result),
    }, `Apply ${suggested.length} suggestion${suggested.length === 1 ? "" : "s"}`);
    out.push(h("div", { class: "actions" }, button, result));
  }
  return out;
}

async function applySuggestions(dishIds, button, result) {
  button.disabled = true;
  try {
    // The suggestions listed are the ones applied: 0.8 is the lowest score a suggestion has.
    const resp = await post(`${API}/pos/mapping/${state.business.id}/apply-suggestions`, { min_score: 0.8, dish_ids: dishIds });
    result.textContent = resp.ok ? `${resp.data.applied} dish${resp.data.applied === 1 ? "" : "es"} mapped.` : resp.error;
    if (resp.ok) refresh();
  } catch (e) {
    result.textContent = `Cannot reach possync: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

const NOTICE = {
  sync_failing: ["bad", "Failing"],
  sync_failed: ["bad", "Failed"],
  reconnect_required: ["bad", "Reconnect"],
  token_expiring: ["warn", "Token expiring"],
  possible_duplicate: ["warn", "Check the POS"],
  pos_unreachable: ["bad", "POS unreachable"],
  cancel_by_hand: ["warn", "Cancel by hand"],
  canceled_in_pos: ["warn", "Canceled in the POS"],
};

function drawNotifications(n) {
  if (n.error) return problem(n.error);
  if (n.notifications.length === 0) return h("p", {}, badge("ok", "None unread"));
  return [
    h("p", { class: "muted" }, `${n.unread_count} unread`),
    h("ul", { class: "notes" }, n.notifications.map((x) => {
      const result = h("span", { class: "result" });
      return h("li", { class: "note", "data-kind": x.kind },
        h("div", { class: "row" }, badge(...(NOTICE[x.kind] || ["bad", x.kind])), " ", h("strong", {}, x.title), " · ", timeEl(x.created_at)),
        h("p", {}, x.message),
        h("div", { class: "actions" }, h("button", {
          type: "button",
          class: "quiet",
          onclick: async (e) => {
            e.target.disabled = true;
            const resp = await post(`${API}/notifications/${x.id}/read`);
            if (resp.ok) refresh();
            else result.textContent = resp.error;
          },
        }, "Mark read"), result));
    })),
  ];
}

// ---- the test order ----------------------------------------------------------------------

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
  return [list, failure ? problem(failure) : null];
}

const ms = (from, to) => `${Math.max(0, new Date(to) - new Date(from))} ms`;

async function sendTestOrder() {
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
    body.replaceChildren(problem(e instanceof SignedOut ? "Your session ended." : `Cannot reach possync: ${e.message}`));
  } finally {
    button.disabled = false;
    refresh();
  }
}

// ---- start -------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", signIn);
  $("logout").addEventListener("click", signOut);
  $("business").addEventListener("change", (e) => choose(e.target.value));
  $("send-test").addEventListener("click", sendTestOrder);
  $("replay-failed").addEventListener("click", replay);
  // A phone that wakes the tab sees fresh figures at once rather than after the next tick.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  if (sessionStorage.getItem(TOKEN_KEY)) start();
  else signedOut();
});
