/* What every screen of the phone app shares: the words and settings the page carries (#m-words, #m-config:
   this file holds no text of its own), the API helper, errors shown next to their field, the copies kept on
   the phone, and a few DOM helpers. */

import { GEN, kv } from "m/db";

export const words = JSON.parse(document.getElementById("m-words").textContent);
export const config = JSON.parse(document.getElementById("m-config").textContent);
const locale = config.language === "en" ? "en-GB" : "zh-CN";

/** A word with its `%(name)s` places filled. */
export function t(key, values = {}) {
  let text = words[key] ?? "";
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`%(${name})s`, String(value));
  return text;
}

export function csrf() {
  const hit = document.cookie.split(";").map((c) => c.trim()).find((c) => c.startsWith("csrftoken="));
  return hit ? decodeURIComponent(hit.slice("csrftoken=".length)) : "";
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || "");
    this.status = status;
    this.body = body || {};
  }
}

// A read not answered by then counts as "no signal" (the screen shows the phone's copy): on a barely working
// connection the browser would wait minutes. The service worker answers from its copy after a few seconds.
const READ_TIMEOUT_MS = 12_000;

/** Call the JSON API. `json` sends a JSON body, `form` a form (a FormData or an object of fields); answers the parsed body, or throws an
    ApiError (status 0 when the server could not be reached, or a read took longer than `timeout` ms). `fresh`
    is false when the service worker answered from its copy (no signal). A 401 while somebody is signed in
    on the phone is announced ("m:signin"): their session ended. */
export async function api(path, { method = "GET", json, form, query, timeout = method === "GET" ? READ_TIMEOUT_MS : 0 } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  const headers = { Accept: "application/json" };
  let body;
  if (method !== "GET") headers["X-CSRFToken"] = csrf();
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form instanceof FormData) body = form;
  else if (form) {
    body = new FormData();
    for (const [k, v] of Object.entries(form)) if (v !== undefined && v !== null) body.append(k, String(v));
  }
  const controller = new AbortController();
  const timer = timeout ? setTimeout(() => controller.abort(), timeout) : 0;
  let response;
  try {
    response = await fetch(url, { method, headers, body, credentials: "same-origin", signal: controller.signal });
  } catch {
    throw new ApiError(0, { code: "network", message: t("network_error") });
  } finally {
    clearTimeout(timer);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401 && session.me) dispatchEvent(new CustomEvent("m:signin"));
  if (!response.ok) {
    throw new ApiError(response.status, data && data.message ? data : { code: "error", message: t("server_error") });
  }
  if (data && typeof data === "object") {
    Object.defineProperty(data, "fresh", { value: response.headers.get("X-From-Cache") !== "1" });
  }
  return data;
}

/** A copy kept on the phone, refreshed from the API when there is a signal. */
export async function kept(name, path, { query, refresh = true } = {}) {
  if (refresh) {
    const gen = await kv.get(GEN);
    try {
      const data = await api(path, { query });
      // Not when the phone forgot its person meanwhile: this answer was theirs.
      if (data.fresh !== false) await kv.setIf(gen, name, data);
      return data;
    } catch (error) {
      if (error.status && error.status !== 0) throw error;
    }
  }
  const copy = await kv.get(name);
  if (copy !== undefined && copy !== null) {
    if (typeof copy === "object") Object.defineProperty(copy, "fresh", { value: false });
    return copy;
  }
  throw new ApiError(0, { code: "network", message: t("not_cached") });
}

// ------------------------------------------------------------------------------------------ who is here

export const session = { me: null };

export function isStaff() {
  return session.me?.kind === "staff";
}

// ------------------------------------------------------------------------------------------ DOM helpers

let slots = 0;

export function screen(id) {
  const node = document.getElementById(id).content.firstElementChild.cloneNode(true);
  const side = isStaff() ? "staff" : "resident";
  for (const el of node.querySelectorAll("[data-show=resident], [data-show=staff]")) el.hidden = el.dataset.show !== side;
  // A complaint is read out when it appears, and its field points to it (showError).
  for (const el of node.querySelectorAll("[data-err]")) {
    el.setAttribute("role", "alert");
    el.id = `err-${++slots}`;
  }
  return node;
}

export function $(root, selector) {
  return root.querySelector(selector);
}

export function out(root, name, text) {
  const el = root.querySelector(`[data-out="${name}"]`);
  if (el) el.textContent = text ?? "";
  return el;
}

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function icon(id, cls = "") {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("aria-hidden", "true");
  if (cls) svg.setAttribute("class", cls);
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `#${id}`);
  svg.append(use);
  return svg;
}

const dateTime = new Intl.DateTimeFormat(locale, {
  timeZone: "Asia/Shanghai", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
});
export function when(iso) {
  return iso ? dateTime.format(new Date(iso)) : "";
}

export function number(value, digits = 0) {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value);
}

/** A card of an open case nearby ("already reported?") with its "me too" button. */
export function candidateCard(c, onMeToo) {
  const card = screen("t-candidate");
  out(card, "excerpt", c.excerpt);
  const chip = out(card, "state", c.state_label);
  chip.classList.add(`st-${c.state}`);
  out(card, "distance", t("distance_m", { m: Math.round(c.distance_m) }));
  out(card, "supporters", t("supporters", { n: c.supporters_count + 1 })); // the reporter and those who said "me too"
  const button = $(card, '[data-act="me-too"]');
  button.addEventListener("click", () => {
    button.disabled = true;
    onMeToo();
  });
  return card;
}

// ------------------------------------------------------------------------------------------ errors

export function clearErrors(form) {
  for (const el of form.querySelectorAll("[data-err]")) el.textContent = "";
  for (const el of form.querySelectorAll(".invalid")) valid(el);
}

function valid(input) {
  input.classList.remove("invalid");
  input.removeAttribute("aria-invalid");
  input.removeAttribute("aria-describedby");
}

/** Show a refusal next to the field it names (or at the form's general place), and bring it into view. */
export function showError(form, field, message) {
  const slot = (field && form.querySelector(`[data-err="${CSS.escape(field)}"]`)) || form.querySelector('[data-err=""]');
  if (slot) {
    slot.textContent = message;
    slot.scrollIntoView({ block: "center", behavior: "smooth" });
  }
  const input = field && form.querySelector(`[name="${CSS.escape(field)}"]`);
  if (input) {
    input.classList.add("invalid");
    input.setAttribute("aria-invalid", "true");
    if (slot?.id) input.setAttribute("aria-describedby", slot.id);
    input.focus({ preventScroll: true });
  }
}

// Typing in a field takes its complaint away.
document.addEventListener("input", (event) => {
  const input = event.target;
  const form = input.form;
  if (!form || !input.name) return;
  valid(input);
  const slot = form.querySelector(`[data-err="${CSS.escape(input.name)}"]`);
  if (slot) slot.textContent = "";
});

export function showApiError(form, error) {
  showError(form, error.body?.field || "", error.body?.message || error.message || t("server_error"));
}
