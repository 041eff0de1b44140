/* The offline queue: everything the phone sends waits here first (IndexedDB, store "queue"), so that a report,
   a check-in or a verification made without a signal is kept when the app is closed and goes up when the
   signal returns.

   A record is generic — any kind of thing the app (or a later screen) sends:
     {key, kind, method, url, body: "form"|"json", fields, files: [{field, blob, name}], label, ref,
      created_at, seq, state, attempts, result, error, field}
   `key` is a UUID sent as the `Idempotency-Key` header (and, for reports, as the `idempotency_key` field): the
   server answers a repeated key with its first answer, so nothing is done twice even when the phone never
   heard the answer and sends again.

   States: waiting → sending → done | failed | needs_you. One record at a time, oldest first, by one tab at a
   time (a Web Lock). No signal, a server error or a throttle: back to waiting, tried again later. Signed out
   (401) or a stale form token (403 csrf): back to waiting, and the app asks to sign in. "Already reported"
   (409) on a report: needs_you (say "me too" or send anyway). Any other refusal: failed, with the server's
   message; the person may retry or delete it. */

import { result, transact } from "m/db";

const STORE = "queue";
const LOCK = "gridgov-m-queue";
const KEEP_DONE = 50; // sent records kept for the list ("what became of it"), photos dropped
const DRAIN_EVERY_MS = 30_000;
const channel = "BroadcastChannel" in self ? new BroadcastChannel("gridgov-m-queue") : null;
const listeners = new Set();
let words = {};
let seqTail = 0;
// Whose records this phone sends now: a shared phone sends each person's records only in their own session.
let owner = null;

export function setOwner(id) {
  owner = id;
  if (id !== null) drain();
}

/** The records of the person signed in (and those made before anyone was). */
export async function mine() {
  return (await all()).filter((r) => r.owner === owner || r.owner == null);
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Be told whenever a record changes (in this tab or another). */
export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed(record = null) {
  for (const listener of listeners) listener(record);
  channel?.postMessage(record ? { key: record.key, state: record.state } : null);
}
if (channel) channel.onmessage = () => { for (const listener of listeners) listener(null); };

export async function all() {
  const records = await transact(STORE, "readonly", (s) => s.getAll());
  return records.sort((a, b) => a.seq - b.seq || (a.key < b.key ? -1 : 1));
}

export function get(key) {
  return transact(STORE, "readonly", (s) => s.get(key));
}

function put(record) {
  return transact(STORE, "readwrite", (s) => s.put(record));
}

export async function waitingCount() {
  return (await mine()).filter((r) => r.state === "waiting" || r.state === "sending").length;
}

/** Put a thing to send in the queue and try to send it now. */
export async function add({ kind, url, method = "POST", body = "form", fields = {}, files = [], label = "", ref = "" }) {
  const key = uuid();
  const now = Date.now();
  seqTail = Math.max(now, seqTail + 1);
  const record = {
    key, kind, method, url, body, label, ref, owner,
    fields: kind === "report" ? { ...fields, idempotency_key: key } : { ...fields },
    files,
    photos: files.length,
    created_at: new Date(now).toISOString(),
    seq: seqTail,
    state: "waiting",
    attempts: 0,
    result: null,
    error: "",
    field: "",
  };
  await put(record);
  changed(record);
  drain();
  return record;
}

export async function retry(key, fields = {}) {
  const record = await get(key);
  if (!record || !["failed", "needs_you"].includes(record.state)) return;
  Object.assign(record.fields, fields);
  Object.assign(record, { state: "waiting", error: "", field: "", result: null });
  await put(record);
  changed(record);
  drain();
}

export async function remove(key) {
  await transact(STORE, "readwrite", (s) => s.delete(key));
  changed();
}

function csrf() {
  const hit = document.cookie.split(";").map((c) => c.trim()).find((c) => c.startsWith("csrftoken="));
  return hit ? decodeURIComponent(hit.slice("csrftoken=".length)) : "";
}

function request(record) {
  const headers = { "Idempotency-Key": record.key, "X-CSRFToken": csrf(), Accept: "application/json" };
  let body;
  if (record.body === "json") {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(record.fields);
  } else {
    body = new FormData();
    for (const [name, value] of Object.entries(record.fields)) {
      if (value === undefined || value === null) continue;
      for (const one of Array.isArray(value) ? value : [value]) body.append(name, typeof one === "object" ? JSON.stringify(one) : String(one));
    }
    for (const file of record.files) body.append(file.field, file.blob, file.name);
  }
  return fetch(record.url, { method: record.method, headers, body, credentials: "same-origin" });
}

/** Send one record; answers whether to go on with the next one. */
async function send(record) {
  Object.assign(record, { state: "sending", attempts: record.attempts + 1 });
  await put(record);
  changed(record);
  let response;
  try {
    response = await request(record);
  } catch {
    Object.assign(record, { state: "waiting", error: words.network_error || "" });
    await put(record);
    changed(record);
    return false;
  }
  const data = await response.json().catch(() => null);
  const status = response.status;
  if (response.ok) {
    // Sent: the photos are on the server now; keep the answer for the list.
    Object.assign(record, { state: "done", result: data, error: "", field: "", files: [], done_at: new Date().toISOString() });
  } else if (status === 401 || (status === 403 && data?.code === "csrf")) {
    Object.assign(record, { state: "waiting", error: words.sign_in_again || "" });
    await put(record);
    changed(record);
    dispatchEvent(new CustomEvent("queue:signin", { detail: record }));
    return false;
  } else if (status === 409 && data?.code === "already_reported" && record.kind === "report") {
    Object.assign(record, { state: "needs_you", result: data, error: data.message || "" });
  } else if (status >= 500 || status === 429 || status === 408) {
    Object.assign(record, { state: "waiting", error: data?.message || words.server_error || "" });
    await put(record);
    changed(record);
    return false;
  } else {
    Object.assign(record, { state: "failed", result: data, error: data?.message || String(status), field: data?.field || "" });
  }
  await put(record);
  changed(record);
  if (record.state === "done") dispatchEvent(new CustomEvent("queue:done", { detail: record }));
  return true;
}

let running = null;

/** Send what waits, oldest first, one at a time. Safe to call any time: one drain runs per phone. */
export function drain() {
  if (!navigator.onLine || owner === null) return Promise.resolve();
  running ??= locked(async () => {
    for (;;) {
      const next = (await mine()).find((r) => r.state === "waiting");
      if (!next || !(await send(next))) break;
    }
    await prune();
  }).finally(() => {
    running = null;
  });
  return running;
}

async function locked(work) {
  if (!navigator.locks) return work();
  return navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? work() : null));
}

/** On start: a record left "sending" when the app died goes back to waiting (its key makes a second send
    harmless). Only while holding the lock: another tab may be sending it right now. */
export async function recover() {
  await locked(async () => {
    const stuck = (await all()).filter((r) => r.state === "sending");
    for (const record of stuck) {
      record.state = "waiting";
      await put(record);
    }
    if (stuck.length) changed();
  });
}

async function prune() {
  const done = (await all()).filter((r) => r.state === "done");
  const old = done.slice(0, Math.max(0, done.length - KEEP_DONE));
  if (!old.length) return;
  await transact(STORE, "readwrite", async (s) => {
    for (const r of old) await result(s.delete(r.key));
  });
  changed();
}

/** Start the queue: recover, then send on start, when the signal returns, and every 30 s while online. */
export async function start(appWords) {
  words = appWords;
  await recover();
  addEventListener("online", () => drain());
  setInterval(() => drain(), DRAIN_EVERY_MS);
  drain();
}
