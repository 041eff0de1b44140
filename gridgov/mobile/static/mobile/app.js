/* gridgov phone app: start, routes (#/report, #/mine, #/case/<number>, #/grid, #/tasks, #/patrol, #/queue,
   #/signin; the grid worker's fieldwork: #/field, #/inspections, #/inspection/<id>, #/visits, #/visit/<what>,
   #/register, #/saved/<key>; the volunteer's: #/volunteer, #/vtask/<id>, #/vactivity/<id>; the mediator's:
   #/mediation, #/dispute/<id>, #/session/<id>, #/follow-up/<id>), sign-in, the queue's page and badge. Residents and grid workers use the same app; the side shown
   depends on /api/mobile/me (kept on the phone, so the app opens without a signal). */

import {
  $, ApiError, api, candidateCard, clearErrors, config, csrf, h, isStaff, kept, out, screen, session, showApiError, showError,
  t, when, words,
} from "m/core";
import { EXPIRED, GEN, SIGNED_OUT, kv, result, transact } from "m/db";
import * as queue from "m/queue";
// Every screen's module, loaded at start (they are small): a new release of the service worker replaces the
// files kept offline, and a page still open must not then ask for its own release's files one by one.
import * as reportScreens from "m/report";
import * as caseScreens from "m/cases";
import * as worker from "m/worker";
import * as fieldwork from "m/fieldwork";
import * as community from "m/community";
import * as mediation from "m/mediation";

const view = document.getElementById("view");
const banner = document.getElementById("banner");
let dispose = null;
let routing = 0;
// Why the sign-in screen is shown, when the phone had somebody: "expired" (the server ended the session) or
// "other" (another account signed in in this browser).
let signinReason = "";
let switching = false;
// A new release of the app took over while this page was open (not the first install).
let updateReady = false;

// ------------------------------------------------------------------------------------------ who is here

/** Who is signed in. The server's word (/api/mobile/me) when there is a signal, the phone's copy without one —
    but never the server's while a sign-out it has not heard of is owed to it (that session would sign the
    next person in as the one who left), and never the phone's once the server ended the session (until
    somebody signs in again with a signal). */
async function loadMe() {
  const before = (await kv.get("me")) ?? null;
  const [signedOut, expired] = [await kv.get(SIGNED_OUT), await kv.get(EXPIRED)];
  if (signedOut) {
    await sendLogout();
    session.me = null;
    queue.setOwner(null);
    return;
  }
  let me = null;
  try {
    me = await api("/api/mobile/me");
  } catch (error) {
    if (error.status === 401 && before) return expire("expired");
    if (error.status === 401) {
      session.me = null; // a new phone: nobody was here
      queue.setOwner(null);
      return;
    }
  }
  if (me && me.fresh !== false) {
    // Somebody else than the phone's person: the workbench or another tab of this browser signed them in.
    if (before && before.id !== me.id) return expire("other");
    return adopt(me);
  }
  // No signal (or the service worker's copy): the phone's copy, unless the session ended.
  session.me = expired ? null : before;
  signinReason = expired ? "expired" : "";
  queue.setOwner(before?.id ?? null, { paused: Boolean(expired) });
  if (expired && before) showBanner(t("sign_in_again"), "#/signin");
}

/** The server ended the session, or the browser's session is somebody else's: the phone keeps the person's
    copies (they may sign in again) but shows only the sign-in and the queue, and sends nothing, until
    somebody signs in with a signal. */
async function expire(reason) {
  signinReason = reason;
  await kv.set(EXPIRED, true);
  const before = session.me ?? (await kv.get("me")) ?? null;
  session.me = null;
  queue.setOwner(before?.id ?? null, { paused: true });
  renderTabs();
  showBanner(t(reason === "other" ? "other_account" : "sign_in_again"), "#/signin");
  // Not away from something half typed: it can still be queued (as theirs); the next screen is the sign-in.
  const current = location.hash.split("/")[1] || "";
  if (routing && current !== "signin" && current !== "queue" && !unsaved()) go("signin");
}

/** Tell the server about a sign-out it has not heard of; answers whether it has now. */
async function sendLogout() {
  try {
    await api("/api/mobile/logout", { method: "POST" });
  } catch (error) {
    if (error.status !== 401) return false; // 401: nobody is signed in there any more
  }
  await kv.del(SIGNED_OUT);
  return true;
}

/** Keep on the phone, while there is a signal, what the screens need without one. */
function warm() {
  if (!session.me || !navigator.onLine) return;
  kept("catalog", "/api/mobile/catalog").catch(() => {});
  if (isStaff()) kept("grid", "/api/mobile/grid").catch(() => {});
  if (session.me.can_patrol) fieldwork.warm();
  if (session.me.can_volunteer) community.warm();
  if (session.me.can_mediate) mediation.warm();
}

// What the phone kept for the person signed in (the catalog is everybody's).
const PERSONAL = ["me", "grid", "mine", "patrols", "patrol", ...fieldwork.KEPT, ...community.KEPT, ...mediation.KEPT];

/** Forget the person: their copies here and the service worker's answers. One more generation first, so that
    an answer asked for them and still on its way is not kept after (core.kept, sw.js). */
async function forget() {
  await transact("kv", "readwrite", async (s) => {
    s.put(((await result(s.get(GEN))) ?? 0) + 1, GEN);
    for (const key of PERSONAL) s.delete(key);
  });
  if ("caches" in self) {
    for (const name of await caches.keys()) {
      if (name.startsWith("gridgov-m-") && !name.startsWith("gridgov-m-static-")) await caches.delete(name);
    }
  }
}

/** The server says `me` is signed in (they signed in here, or /me said so): the phone becomes theirs. If it
    was somebody else's, that person's patrol ends (checked out as theirs), and their copies are forgotten;
    their queued records stay theirs, sent only in their own session. */
async function adopt(me) {
  const before = await kv.get("me");
  if (before && before.id !== me.id) {
    queue.hold();
    await worker.signOff();
    await forget();
  }
  await kv.set("me", me);
  await Promise.all([kv.del(EXPIRED), kv.del(SIGNED_OUT)]);
  session.me = me;
  signinReason = "";
  queue.setOwner(me.id);
  await worker.follow(me);
  hideBanner();
  renderTabs();
  warm();
}

async function signOut() {
  // Kept first: should the server not hear of it now (no signal), the app tells it before it trusts it again.
  await kv.set(SIGNED_OUT, true);
  await worker.signOff();
  queue.setOwner(null);
  session.me = null;
  signinReason = "";
  await forget();
  renderTabs();
  go("signin");
  await sendLogout();
}

/** Another tab signed somebody in or out, or the queue found the session is not the owner's: ask again. */
async function whoNow() {
  if (switching) return;
  switching = true;
  try {
    await loadMe();
    await worker.follow(session.me);
    renderTabs();
    if (!unsaved()) await route(); // else the next screen shows who is here now
  } finally {
    switching = false;
  }
}

// ------------------------------------------------------------------------------------------ chrome

// Roles of the community side: a volunteer or a mediator holding none of the grid's roles has no grid map and
// no grid tasks (they see no cases): their own screens come first.
const COMMUNITY_ROLES = ["resident", "volunteer", "mediator"];

function communityOnly(me = session.me) {
  return Boolean(me && (me.can_volunteer || me.can_mediate) && me.roles.every((role) => COMMUNITY_ROLES.includes(role)));
}

/** Whether the person signed in sees the screens of a side (a tab's data-side, a route's second word). */
function mayUse(side, me = session.me) {
  if (!me) return false;
  if (side === "staff") return isStaff();
  if (side === "resident") return !isStaff();
  if (side === "patrol" || side === "worker") return Boolean(me.can_patrol);
  if (side === "volunteer") return Boolean(me.can_volunteer);
  if (side === "mediator") return Boolean(me.can_mediate);
  return true;
}

function renderTabs() {
  const tabs = document.getElementById("tabs");
  const me = session.me;
  tabs.hidden = !me;
  for (const link of tabs.querySelectorAll("a")) {
    const side = link.dataset.side;
    link.hidden = !mayUse(side, me) || (side === "staff" && communityOnly(me));
  }
  markTab();
}

function markTab() {
  const current = location.hash.split("/")[1] || "";
  for (const link of document.querySelectorAll("#tabs a")) {
    if (link.getAttribute("href") === `#/${current}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function renderBadge() {
  const n = await queue.waitingCount();
  const badge = document.getElementById("queue-badge");
  badge.hidden = n === 0;
  badge.textContent = String(n);
  document.getElementById("queue-link").setAttribute("aria-label", t("queued_n", { n }));
}

function renderNet() {
  document.getElementById("net").hidden = navigator.onLine;
}

function showBanner(text, href = "") {
  banner.replaceChildren(href ? h("a", { href, text }) : text);
  banner.hidden = false;
}

function hideBanner() {
  banner.hidden = true;
}

// ------------------------------------------------------------------------------------------ routes

const ROUTES = {
  report: [reportScreens.report],
  sent: [reportScreens.sent],
  mine: [caseScreens.mine],
  case: [caseScreens.detail],
  grid: [worker.grid, "staff"],
  tasks: [worker.tasks, "staff"],
  patrol: [worker.patrol, "staff"],
  field: [fieldwork.hub, "worker"],
  inspections: [fieldwork.inspections, "worker"],
  inspection: [fieldwork.inspection, "worker"],
  visits: [fieldwork.visits, "worker"],
  visit: [fieldwork.visit, "worker"],
  register: [fieldwork.register, "worker"],
  saved: [fieldwork.saved, "worker"],
  volunteer: [community.hub, "volunteer"],
  vtask: [community.task, "volunteer"],
  vactivity: [community.activity, "volunteer"],
  mediation: [mediation.hub, "mediator"],
  dispute: [mediation.dispute, "mediator"],
  session: [mediation.sessionForm, "mediator"],
  "follow-up": [mediation.followUp, "mediator"],
};

export function go(name, arg = "") {
  const hash = `#/${name}${arg ? `/${encodeURIComponent(arg)}` : ""}`;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function home() {
  if (communityOnly()) return session.me.can_volunteer ? "volunteer" : "mediation";
  return isStaff() ? "grid" : "report";
}

/** Whether the screen holds something typed or photographed that is not queued yet. */
function unsaved() {
  const typed = [...view.querySelectorAll("input, textarea")].some(
    (el) => !["checkbox", "radio", "hidden", "file", "submit", "button"].includes(el.type) && el.value.trim(),
  );
  return typed || Boolean(view.querySelector(".thumbs li"));
}

async function route() {
  // A new release took over (the service worker): reload between two screens, when nothing would be lost.
  if (updateReady && !unsaved()) {
    location.reload();
    return;
  }
  const ticket = ++routing;
  const [name = "", arg = ""] = location.hash.replace(/^#\/?/, "").split("/");
  if (dispose) {
    try {
      dispose();
    } catch {
      // a screen that fails to clean up must not stop the next one
    }
    dispose = null;
  }
  markTab();
  if (!session.me && name !== "signin" && name !== "queue") return go("signin");
  if (name === "signin") return mount(signinScreen());
  if (name === "queue") return mount(queueScreen());
  const target = ROUTES[name];
  if (!target || (target[1] && !mayUse(target[1]))) return go(home());
  const node = await target[0](decodeURIComponent(arg));
  if (ticket !== routing) return;
  mount(node);
}

function mount(result) {
  const node = result?.node ?? result;
  dispose = result?.dispose ?? null;
  view.replaceChildren(node);
  window.scrollTo(0, 0);
  result?.mounted?.();
}

// ------------------------------------------------------------------------------------------ sign in

function signinScreen() {
  const node = screen("t-signin");
  const [phoneForm, accountForm] = [$(node, '[data-form="phone"]'), $(node, '[data-form="account"]')];
  $(node, '[data-show="expired"]').hidden = signinReason !== "expired";
  $(node, '[data-show="other"]').hidden = signinReason !== "other";
  for (const tab of node.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", () => {
      for (const other of node.querySelectorAll("[data-tab]")) other.setAttribute("aria-selected", String(other === tab));
      phoneForm.hidden = tab.dataset.tab !== "phone";
      accountForm.hidden = tab.dataset.tab !== "account";
    });
  }
  const sendButton = $(phoneForm, '[data-act="send-code"]');
  const sendLabel = sendButton.textContent;
  let timer = 0;
  sendButton.addEventListener("click", async () => {
    clearErrors(phoneForm);
    out(phoneForm, "code-sent", "");
    try {
      const sent = await api("/api/mobile/code", { method: "POST", form: { phone: phoneForm.phone.value.trim() } });
      let left = sent.resend_after ?? 60;
      sendButton.disabled = true;
      clearInterval(timer);
      const tick = () => {
        sendButton.textContent = left > 0 ? t("resend_in", { s: left }) : sendLabel;
        sendButton.disabled = left > 0;
        if (left-- <= 0) clearInterval(timer);
      };
      tick();
      timer = setInterval(tick, 1000);
      phoneForm.code.focus();
      out(phoneForm, "code-sent", t("code_sent"));
    } catch (error) {
      showApiError(phoneForm, error);
    }
  });
  phoneForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(phoneForm);
    if (!phoneForm.consent.checked) return showError(phoneForm, "consent", t("need_consent"));
    try {
      const me = await api("/api/mobile/verify", {
        method: "POST",
        form: { phone: phoneForm.phone.value.trim(), code: phoneForm.code.value.trim(), consent: true },
      });
      await done(me);
    } catch (error) {
      showApiError(phoneForm, error);
    }
  });
  accountForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(accountForm);
    try {
      const me = await api("/api/mobile/login", {
        method: "POST",
        form: { username: accountForm.username.value.trim(), password: accountForm.password.value },
      });
      await done(me);
    } catch (error) {
      showApiError(accountForm, error);
    }
  });
  async function done(me) {
    await adopt(me);
    go(home());
  }
  return { node, dispose: () => clearInterval(timer) };
}

// ------------------------------------------------------------------------------------------ the queue

function resultLink(record) {
  const r = record.result;
  const number = r?.summary?.number ?? r?.number ?? null;
  return number && record.state === "done" ? number : null;
}

function queueScreen() {
  const node = screen("t-queue");
  const list = $(node, '[data-list="records"]');
  const me = session.me;
  out(node, "who", me ? `${me.name || ""} ${me.phone || ""}`.trim() : "");
  $(node, '[data-act="signout"]').hidden = !me;
  $(node, '[data-act="signout"]').addEventListener("click", signOut);
  $(node, '[data-act="drain"]').addEventListener("click", () => queue.drain({ now: true }));

  async function render() {
    const records = await queue.mine(); // in the order they are sent
    out(node, "empty", records.some((r) => r.state !== "done") ? "" : t("queue_empty"));
    list.replaceChildren(...records.map((record) => recordRow(record, queue.waitsFor(record, records))));
  }

  function recordRow(record, parent) {
    const row = screen("t-record");
    row.classList.add(`st-${record.state}`);
    row.dataset.key = record.key;
    row.dataset.state = record.state;
    out(row, "kind", t(`kind_${record.kind}`) || t("kind_record"));
    const chip = out(row, "state", t(record.state));
    chip.classList.add(`q-${record.state}`);
    const meta = [when(record.created_at), record.label, record.photos ? t("photos_n", { n: record.photos }) : ""];
    if (record.attempts > 1) meta.push(t("attempts", { n: record.attempts }));
    if (record.state === "waiting" && record.retry_at > Date.now()) meta.push(t("next_try", { at: when(new Date(record.retry_at).toISOString()) }));
    if (parent) meta.push(t("waiting_for", { what: [t(`kind_${parent.kind}`) || t("kind_record"), parent.label].filter(Boolean).join(" ") }));
    out(row, "meta", meta.filter(Boolean).join(" · "));
    out(row, "error", record.state === "done" || parent ? "" : record.error);
    const number = resultLink(record);
    const said = fieldwork.outcome(record) ?? community.outcome(record) ?? mediation.outcome(record);
    if (said) {
      const link = out(row, "result", said.text);
      if (said.href) link.href = said.href;
      else link.removeAttribute("href");
      link.hidden = false;
    } else if (number) {
      const link = out(row, "result", record.kind === "report" ? t("received_as", { number }) : t("case_n", { number }));
      link.href = `#/case/${encodeURIComponent(number)}`;
      link.hidden = false;
    }
    const act = (name) => $(row, `[data-act="${name}"]`);
    act("retry").hidden = record.state !== "failed";
    act("delete").hidden = !["failed", "needs_you", "waiting"].includes(record.state) || (record.state === "waiting" && navigator.onLine && record.attempts === 0 && !parent);
    act("force").hidden = record.state !== "needs_you";
    $(row, '[data-list="errors"]').replaceChildren(...fieldwork.refusals(record).map((text) => h("li", { text })));
    const fix = fieldwork.fixLink(record) || mediation.fixLink(record);
    act("fix").hidden = !fix;
    if (fix) act("fix").href = fix;
    act("retry").addEventListener("click", () => queue.retry(record.key));
    act("force").addEventListener("click", () => queue.retry(record.key, { force: "true" }));
    act("delete").addEventListener("click", () => {
      if (confirm(t("delete_confirm"))) queue.remove(record.key);
    });
    if (record.state === "needs_you") {
      const cards = $(row, '[data-list="candidates"]');
      for (const c of record.result?.candidates ?? []) cards.append(candidateCard(c, () => meTooInstead(record, c)));
    }
    return row;
  }

  const stop = queue.onChange(render);
  render();
  return { node, dispose: stop };
}

async function meTooInstead(record, candidate) {
  try {
    await queue.add({
      kind: "me_too",
      url: `/api/cases/${encodeURIComponent(candidate.number)}/me-too`,
      fields: { token: candidate.me_too_token },
      label: candidate.number,
      ref: candidate.number,
    });
  } catch {
    return; // no room on the phone (the banner says so): the report stays as it is
  }
  await queue.remove(record.key);
}

// ------------------------------------------------------------------------------------------ start

function wireLanguage() {
  const form = document.getElementById("lang-form");
  form.addEventListener("submit", (event) => {
    if (!navigator.onLine) {
      event.preventDefault();
      return;
    }
    form.csrfmiddlewaretoken.value = csrf();
    form.next.value = config.home + location.hash; // back to the same screen
  });
}

function wireUpdates() {
  if (!("serviceWorker" in navigator)) return;
  // The first install takes control too: only a change of a controller is a new release.
  let controlled = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (controlled) {
      updateReady = true;
      document.getElementById("update").hidden = false;
    }
    controlled = true;
  });
  document.querySelector('#update [data-act="reload"]').addEventListener("click", () => location.reload());
  navigator.serviceWorker.register(config.sw, { scope: config.home }).catch(() => {});
}

async function start() {
  wireUpdates();
  wireLanguage();
  renderNet();
  addEventListener("online", renderNet);
  addEventListener("offline", renderNet);
  // A sign-out made without a signal: tell the server as soon as there is one.
  addEventListener("online", async () => {
    if (await kv.get(SIGNED_OUT)) await sendLogout();
  });
  addEventListener("queue:signin", () => expire("expired"));
  addEventListener("m:signin", () => expire("expired"));
  addEventListener("queue:owner", whoNow);
  let full = false; // the banner says the phone's storage is full, until something fits again
  addEventListener("queue:full", () => {
    full = true;
    showBanner(t("storage_full"));
  });
  queue.onChange((record) => {
    renderBadge();
    if (full && record?.state === "waiting" && record.attempts === 0) {
      full = false;
      hideBanner();
    }
  });
  await queue.start(words);
  await loadMe();
  await worker.follow(session.me);
  renderBadge();
  renderTabs();
  addEventListener("hashchange", route);
  await route();
}

start().catch((error) => {
  view.replaceChildren(h("p", { class: "err", text: error instanceof ApiError ? error.message : t("server_error") }));
  throw error;
});
