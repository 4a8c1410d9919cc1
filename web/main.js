// possync's status page (main module): a small client of the public API (/docs describes every call it makes).
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

import { API, SignedOut, TOKEN_KEY, get, has, loadOperations, post } from "./api.js";
import { hooks, state } from "./app.js";
import { $, h, show } from "./dom.js";
import { replay, drawFailures } from "./failures.js";
import { load } from "./load.js";
import { drawMapping } from "./mapping.js";
import { drawNotifications } from "./notifications.js";
import { drawHealth, drawIntegration, drawToday, renderSummary } from "./overview.js";
import { sendTestOrder } from "./test_order.js";

const REFRESH_MS = 5000;
const BUSINESS_KEY = "possync.business";

hooks.refresh = () => refresh();
hooks.signedOut = (message) => signedOut(message);

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
  state.health = integration && integration.health ? integration.health.state : null;
  show("card-health", Boolean(integration && integration.health));
  if (integration && integration.health) card("card-health", integration.health, drawHealth);
  card("card-today", { today: d.today, stats: d.stats.ok ? d.stats.data.stats : null }, drawToday);
  // A held order's row says so: the health state is part of what that card shows.
  card("card-failures", { ...d.failures, health: state.health }, drawFailures);
  show("card-mapping", Boolean(d.mapping));
  if (d.mapping) card("card-mapping", d.mapping.ok ? d.mapping.data : { error: d.mapping.error }, drawMapping);
  card("card-notifications", d.notifications.ok ? d.notifications.data : { error: d.notifications.error }, drawNotifications);
}

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
