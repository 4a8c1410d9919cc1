// The public API, as this page calls it: the envelope unwrapped, the token from sessionStorage,
// and which operations this server has (read from its spec).
"use strict";

export const API = "/api/v1";
export const TOKEN_KEY = "possync.token";

export class SignedOut extends Error {}

/** One call: `{status, ok, data, message, error}`. Throws SignedOut on 401, TypeError offline. */
export async function call(method, path, body) {
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

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body || {});

/** The operations this server has, from its spec: "post /api/v1/pos/replay", ... */
export let operations = new Set();

export async function loadOperations() {
  const resp = await fetch("/openapi.json", { cache: "no-store", credentials: "omit" });
  const spec = await resp.json();
  const found = new Set();
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of Object.keys(item)) found.add(`${method} ${path}`);
  }
  operations = found;
}

export const has = (method, template) => operations.has(`${method} ${API}${template}`);
