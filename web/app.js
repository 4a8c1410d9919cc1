// What the page's parts share: the state of the session, and the two things any part may ask of
// the page as a whole (refresh now; the session ended). main.js fills the hooks in.
"use strict";

import { SignedOut } from "./api.js";

export const state = {
  seller: null,
  businesses: [],
  business: null, // the business shown
  shown: new Map(), // card id -> JSON of what it shows, so an unchanged card is not redrawn
  timer: null,
  refreshing: false,
  testRun: 0,
  health: null, // the integration's health state as last read ("circuit_open", ...)
};

export const hooks = {
  refresh: () => {},
  signedOut: () => {},
};

/** What a button's action says when its call did not get an answer. */
export function unanswered(e) {
  if (e instanceof SignedOut) {
    hooks.signedOut("Your session ended: sign in again.");
    return "";
  }
  return `Cannot reach possync: ${e.message}`;
}
