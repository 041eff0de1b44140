/* The offline queue: everything the phone sends waits here first (IndexedDB, store "queue"), so that a report,
   a check-in or a verification made without a signal is kept when the app is closed and goes up when the
   signal returns.

   A record is generic — any kind of thing the app (or a later screen) sends:
     {key, kind, method, url, body: "form"|"json", fields, files: [{field, blob, name}], private, label, ref,
      after, owner, created_at, seq, state, attempts, server_errors, retry_at, result, error, field}
   `private` names fields of personal data (a registered person's ID number, say): once sent, they are dropped
   from the phone with the photos.
   `key` is a UUID sent as the `Idempotency-Key` header (and, for reports, as the `idempotency_key` field): the
   server answers a repeated key with its first answer, so nothing is done twice even when the phone never
   heard the answer and sends again.

   States: waiting → sending → done | failed | needs_you. One record at a time, in the order they were made
   (`seq`, a counter: the phone's clock may go back), by one tab at a time (a Web Lock); the oldest unfinished
   record goes first, so nothing overtakes it. A record `after` another (a patrol's track and check-out after
   its check-in) waits while that one is not sent, without holding up the others.
   No signal, a server error or a throttle: back to waiting, tried again after a pause that doubles each time;
   after MAX_SERVER_ERRORS server errors it fails, so that the records after it go on. Signed out (401) or a
   stale form token (403 csrf): back to waiting, and nothing more is sent until somebody signs in. Before
   sending, the queue asks who the session belongs to: a record is only sent as its owner (another tab or
   the workbench may have signed somebody else in). "Already reported" (409) on a report: needs_you (say
   "me too" or send anyway). Any other refusal: failed, with the server's message; the person may retry or
   delete it. */

import { result, transact } from "m/db";

const STORE = "queue";
const SEQ = "queue_seq"; // in the kv store: the last `seq` given, written with the record it numbered
const LOCK = "gridgov-m-queue";
const KEEP_DONE = 50; // sent records kept for the list ("what became of it"), photos dropped
const DRAIN_EVERY_MS = 30_000;
const BACKOFF_FIRST_MS = 15_000;
const BACKOFF_MAX_MS = 30 * 60_000;
const MAX_SERVER_ERRORS = 8;
const channel = "BroadcastChannel" in self ? new BroadcastChannel("gridgov-m-queue") : null;
const listeners = new Set();
let words = {};
// Whose records this phone sends now: a shared phone sends each person's records only in their own session.
let owner = null;
// Nothing is sent while true: the session ended (401), or belongs to somebody else, until somebody signs in.
let paused = false;
let persistenceAsked = false;

/** The person whose records are shown and sent. `paused`: shown, but not sent (their session ended).
    Other tabs hear of a new owner and stop sending the one before. */
export function setOwner(id, { paused: hold = false } = {}) {
  const other = id !== owner;
  owner = id;
  paused = hold;
  if (other) channel?.postMessage({ owner: id });
  if (id !== null && !hold) drain({ now: true });
}

/** Send nothing until setOwner() (this tab only: somebody is signing in or out here). */
export function hold() {
  paused = true;
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

if (channel) {
  channel.onmessage = ({ data }) => {
    if (data && "owner" in data) {
      // Another tab signed somebody in or out: what this tab would send is no longer theirs to send.
      if (data.owner !== owner) {
        paused = true;
        dispatchEvent(new CustomEvent("queue:owner", { detail: data.owner }));
      }
      return;
    }
    for (const listener of listeners) listener(null);
  };
}

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

/** The record `record` waits for: the one it is `after`, while that one is not sent. */
export function waitsFor(record, records) {
  if (!record.after || record.state !== "waiting") return null;
  const parent = records.find((r) => r.key === record.after);
  return parent && parent.state !== "done" ? parent : null;
}

export class StorageFull extends Error {}

/** Put a thing to send in the queue and try to send it now. `kv`: changes of the kv store made in the same
    transaction ({key: value}, undefined deletes), so that the app never keeps one without the other (a patrol's
    points and the record that sends them). `as`: the owner, when not the person signed in. Throws
    StorageFull (with a message to show) when the phone has no room: nothing was kept, nothing changed. */
export async function add(
  { key = uuid(), kind, url, method = "POST", body = "form", fields = {}, files = [], private: secret = [], label = "", ref = "", after = "" },
  { kv: changes = {}, as = owner } = {},
) {
  const record = {
    key, kind, method, url, body, label, ref, after, owner: as,
    fields: kind === "report" ? { ...fields, idempotency_key: key } : { ...fields },
    files,
    private: secret,
    photos: files.length,
    created_at: new Date().toISOString(),
    seq: 0,
    state: "waiting",
    attempts: 0,
    server_errors: 0, // answers 5xx/429/408: after MAX_SERVER_ERRORS of them it fails
    backoffs: 0, // pauses after an error, each twice the one before
    retry_at: 0, // not sent again before (epoch ms)
    result: null,
    error: "",
    field: "",
  };
  try {
    await transact([STORE, "kv"], "readwrite", async (queueStore, kvStore) => {
      let last = await result(kvStore.get(SEQ));
      // The first time: after the records queued before the counter existed (numbered by the clock).
      if (typeof last !== "number") last = Math.max(0, ...(await result(queueStore.getAll())).map((r) => r.seq || 0));
      record.seq = last + 1;
      kvStore.put(record.seq, SEQ);
      queueStore.put(record);
      for (const [name, value] of Object.entries(changes)) {
        if (value === undefined) kvStore.delete(name);
        else kvStore.put(value, name);
      }
    });
  } catch (error) {
    if (error?.name !== "QuotaExceededError") throw error;
    dispatchEvent(new CustomEvent("queue:full"));
    throw new StorageFull(words.storage_full || error.message);
  }
  keepStorage();
  changed(record);
  drain();
  return record;
}

/** Ask the browser, once, not to clear the phone's storage when space runs low: the queue lives there. */
function keepStorage() {
  if (persistenceAsked || !navigator.storage?.persist) return;
  persistenceAsked = true;
  navigator.storage.persisted().then((yes) => yes || navigator.storage.persist()).catch(() => {});
}

/** Send a failed record again, with `fields` changed (`replace`: instead of those it had — a form put right). */
export async function retry(key, fields = {}, { replace = false } = {}) {
  const record = await get(key);
  if (!record || !["failed", "needs_you"].includes(record.state)) return;
  if (replace) record.fields = { ...fields };
  else Object.assign(record.fields, fields);
  Object.assign(record, { state: "waiting", error: "", field: "", result: null, server_errors: 0, backoffs: 0, retry_at: 0 });
  await put(record);
  changed(record);
  drain({ now: true });
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

function backOff(record, error) {
  const pauses = (record.backoffs ?? 0) + 1;
  const wait = Math.min(BACKOFF_FIRST_MS * 2 ** (pauses - 1), BACKOFF_MAX_MS);
  Object.assign(record, { state: "waiting", error, backoffs: pauses, retry_at: Date.now() + wait });
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
    backOff(record, words.network_error || "");
    await put(record);
    changed(record);
    return false;
  }
  const data = await response.json().catch(() => null);
  const status = response.status;
  let next = true;
  if (response.ok) {
    // Sent: the photos are on the server now; keep the answer for the list.
    Object.assign(record, { state: "done", result: data, error: "", field: "", files: [], backoffs: 0, retry_at: 0, done_at: new Date().toISOString() });
    for (const name of record.private ?? []) delete record.fields[name];
  } else if (status === 401 || (status === 403 && data?.code === "csrf")) {
    // Sending again before somebody signs in would only upload the photos to hear 401 again.
    Object.assign(record, { state: "waiting", error: words.sign_in_again || "" });
    paused = true;
    dispatchEvent(new CustomEvent("queue:signin", { detail: record }));
    next = false;
  } else if (status === 409 && data?.code === "already_reported" && record.kind === "report") {
    Object.assign(record, { state: "needs_you", result: data, error: data.message || "" });
  } else if (status >= 500 || status === 429 || status === 408) {
    record.server_errors = (record.server_errors ?? 0) + 1;
    if (record.server_errors >= MAX_SERVER_ERRORS) {
      // Given up for now, so that what comes after it goes on; the person sees it and may retry it.
      const message = (words.gave_up || "").replace("%(n)s", String(record.server_errors));
      Object.assign(record, { state: "failed", result: data, error: message, field: "" });
    } else {
      backOff(record, data?.message || words.server_error || "");
      next = false;
    }
  } else {
    Object.assign(record, { state: "failed", result: data, error: data?.message || String(status), field: data?.field || "" });
  }
  await put(record);
  changed(record);
  if (record.state === "done") dispatchEvent(new CustomEvent("queue:done", { detail: record }));
  return next;
}

/** The record to send now: the oldest unfinished one (nothing overtakes it), unless it waits for the record
    it comes after — then the next one. None while the oldest pauses after an error (`now`: do not wait). */
async function nextToSend(now) {
  const records = await mine();
  for (const record of records) {
    if (record.state !== "waiting" || waitsFor(record, records)) continue;
    return !now && record.retry_at > Date.now() ? null : record;
  }
  return null;
}

/** Whether the session is the owner's: another tab or the workbench in this browser may have signed
    somebody else in. If not, nothing is sent until somebody signs in here. */
async function sessionIsOwners() {
  let response;
  try {
    response = await fetch("/api/mobile/me", { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" });
  } catch {
    return false;
  }
  if (response.headers.get("X-From-Cache") === "1") return false; // no signal after all
  if (response.status === 401) {
    paused = true;
    dispatchEvent(new CustomEvent("queue:signin"));
    return false;
  }
  if (!response.ok) return false;
  const me = await response.json().catch(() => null);
  if (me?.id === owner) return true;
  paused = true;
  dispatchEvent(new CustomEvent("queue:owner", { detail: me?.id ?? null }));
  return false;
}

let running = null;

/** Send what waits, in order, one at a time. Safe to call any time: one drain runs per phone. `now`: also
    what pauses after an error (the signal came back, or the person asked). */
export function drain({ now = false } = {}) {
  if (!navigator.onLine || owner === null || paused) return Promise.resolve();
  running ??= locked(async () => {
    await recoverStuck();
    if (!(await nextToSend(now)) || !(await sessionIsOwners())) return;
    while (owner !== null && !paused) {
      const next = await nextToSend(now);
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

/** A record left "sending" (the app died, or keeping the answer failed) goes back to waiting, in its place
    (its key makes a second send harmless). Only while holding the lock: another tab may be sending it. */
async function recoverStuck() {
  const stuck = (await all()).filter((r) => r.state === "sending");
  for (const record of stuck) {
    record.state = "waiting";
    await put(record);
  }
  if (stuck.length) changed();
}

/** On start (also without a signal, when nothing is sent): the list shows what was left "sending" waiting. */
export function recover() {
  return locked(recoverStuck);
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
  addEventListener("online", () => drain({ now: true }));
  setInterval(() => drain(), DRAIN_EVERY_MS);
  drain();
}
