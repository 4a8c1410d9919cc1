// Unread notifications, each with "Mark read".
"use strict";

import { API, post } from "./api.js";
import { hooks } from "./app.js";
import { badge, h, problem, timeEl } from "./dom.js";

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

export function drawNotifications(n) {
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
            if (resp.ok) hooks.refresh();
            else result.textContent = resp.error;
          },
        }, "Mark read"), result));
    })),
  ];
}
