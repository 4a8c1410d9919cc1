// DOM and formatting helpers of the status page. Strings become text nodes here, never markup.
"use strict";

/** An element with attributes/handlers from `props` and `children` (strings become text). */
export function h(tag, props, ...children) {
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

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (id) => document.getElementById(id);

/** A state shown in colour and in words: `tone` is ok | warn | bad | off. */
export function badge(tone, words) {
  const mark = { ok: "✓", warn: "!", bad: "✗", off: "–" }[tone] || "";
  return h("span", { class: `badge ${tone}` }, h("span", { "aria-hidden": "true" }, mark), " ", words);
}

export function fact(term, ...value) {
  return [h("dt", {}, term), h("dd", {}, ...value)];
}


export function when(iso) {
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

export function clock(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function timeEl(iso) {
  return h("time", { datetime: iso, title: clock(iso) }, when(iso));
}

export function money(minor, currency) {
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(minor / 10 ** digits);
  } catch (_) {
    return `${minor} ${currency}`;
  }
}

export const PROVIDERS = { square: "Square", zoho: "Zoho Inventory", dine: "Dine POS" };
export const providerName = (p) => PROVIDERS[p] || p;

/** The calendar day of `iso` in `timeZone` (the business's), as YYYY-MM-DD. */
export function dayIn(iso, timeZone) {
  const options = { year: "numeric", month: "2-digit", day: "2-digit" };
  try {
    return new Intl.DateTimeFormat("en-CA", { ...options, timeZone }).format(new Date(iso));
  } catch (_) {
    return new Intl.DateTimeFormat("en-CA", options).format(new Date(iso));
  }
}

/** A problem, shown in the card where it happened. */
export function problem(text) {
  return h("p", { class: "form-error" }, text);
}

export function show(id, visible) {
  $(id).hidden = !visible;
}

/** "1 order", "2 orders". */
export function plural(n, word, many) {
  return `${n} ${n === 1 ? word : many || `${word}s`}`;
}
