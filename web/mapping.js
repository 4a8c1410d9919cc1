// Menu mapping: how many dishes have a POS item, the ones that do not, the POS item suggested for
// each, and "Apply suggestions".
"use strict";

import { API, post } from "./api.js";
import { hooks, state, unanswered } from "./app.js";
import { badge, h, money, problem } from "./dom.js";

const MAPPING = {
  mapped: ["ok", "Mapped"],
  unmapped: ["warn", "Not mapped"],
  missing: ["bad", "Missing in the POS"],
  price_differs: ["warn", "Price differs"],
};

export function drawMapping(m) {
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
    if (resp.ok) hooks.refresh();
  } catch (e) {
    result.textContent = unanswered(e);
  } finally {
    button.disabled = false;
  }
}
