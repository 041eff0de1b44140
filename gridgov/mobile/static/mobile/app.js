/* gridgov phone app: start, routes (#/report, #/mine, #/case/<number>, #/grid, #/tasks, #/patrol, #/queue,
   #/signin), sign-in, the queue's page and badge. Residents and grid workers use the same app; the side shown
   depends on /api/mobile/me (kept on the phone, so the app opens without a signal). */

import {
  $, ApiError, api, candidateCard, clearErrors, config, csrf, h, isStaff, kept, out, screen, session, showApiError, showError,
  t, when, words,
} from "m/core";
import { kv } from "m/db";
import * as queue from "m/queue";

const view = document.getElementById("view");
const banner = document.getElementById("banner");
let dispose = null;
let routing = 0;

// ------------------------------------------------------------------------------------------ who is here

async function loadMe() {
  try {
    session.me = await api("/api/mobile/me");
    if (session.me.fresh === false) return; // the service worker's copy: keep ours as it is
    await kv.set("me", session.me);
  } catch (error) {
    // Signed out on the server (sessions end when idle): sign in again. The phone's copy stays, so that
    // without a signal the person can go on working; what they queue is sent after they sign in again.
    if (error.status === 401) session.me = null;
    else session.me = (await kv.get("me")) ?? null;
  }
  // The queue stays the last person's until another signs in (their records are shown, and wait).
  queue.setOwner(session.me?.id ?? (await kv.get("me"))?.id ?? null);
}

/** Keep on the phone, while there is a signal, what the screens need without one. */
function warm() {
  if (!session.me || !navigator.onLine) return;
  kept("catalog", "/api/mobile/catalog").catch(() => {});
  if (isStaff()) kept("grid", "/api/mobile/grid").catch(() => {});
}

// What the phone kept for the person signed in (the catalog is everybody's).
const PERSONAL = ["me", "grid", "mine", "patrols"];

async function forget() {
  await Promise.all(PERSONAL.map((key) => kv.del(key)));
  if ("caches" in self) await caches.delete("gridgov-m-api");
}

export async function signedIn(me) {
  const before = await kv.get("me");
  if (before && before.id !== me.id) await forget(); // another person on this phone
  session.me = me;
  await kv.set("me", me);
  queue.setOwner(me.id);
  hideBanner();
  renderTabs();
  warm();
  queue.drain();
}

async function signOut() {
  try {
    await api("/api/mobile/logout", { method: "POST" });
  } catch {
    // Without a signal the session ends on the server by itself; forget it here anyway.
  }
  session.me = null;
  queue.setOwner(null);
  await forget();
  renderTabs();
  go("signin");
}

// ------------------------------------------------------------------------------------------ chrome

function renderTabs() {
  const tabs = document.getElementById("tabs");
  const me = session.me;
  tabs.hidden = !me;
  for (const link of tabs.querySelectorAll("a")) {
    const side = link.dataset.side;
    link.hidden = !me || (side === "staff" && !isStaff()) || (side === "resident" && isStaff()) || (side === "patrol" && !me.can_patrol);
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
  report: ["m/report", "report"],
  sent: ["m/report", "sent"],
  mine: ["m/cases", "mine"],
  case: ["m/cases", "detail"],
  grid: ["m/worker", "grid", "staff"],
  tasks: ["m/worker", "tasks", "staff"],
  patrol: ["m/worker", "patrol", "staff"],
};

export function go(name, arg = "") {
  const hash = `#/${name}${arg ? `/${encodeURIComponent(arg)}` : ""}`;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function home() {
  return isStaff() ? "grid" : "report";
}

async function route() {
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
  if (!target || (target[2] === "staff" && !isStaff())) return go(home());
  const module = await import(target[0]);
  if (ticket !== routing) return;
  const node = await module[target[1]](decodeURIComponent(arg));
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
  $(node, '[data-show="expired"]').hidden = !sessionStorage.getItem("gridgov-m-expired");
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
    sessionStorage.removeItem("gridgov-m-expired");
    await signedIn(me);
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
  $(node, '[data-act="drain"]').addEventListener("click", () => queue.drain());

  async function render() {
    const records = await queue.mine(); // in the order they are sent
    out(node, "empty", records.some((r) => r.state !== "done") ? "" : t("queue_empty"));
    list.replaceChildren(...records.map(recordRow));
  }

  function recordRow(record) {
    const row = screen("t-record");
    row.classList.add(`st-${record.state}`);
    row.dataset.key = record.key;
    row.dataset.state = record.state;
    out(row, "kind", t(`kind_${record.kind}`) || t("kind_record"));
    const chip = out(row, "state", t(record.state));
    chip.classList.add(`q-${record.state}`);
    const meta = [when(record.created_at), record.label, record.photos ? t("photos_n", { n: record.photos }) : ""];
    if (record.attempts > 1) meta.push(t("attempts", { n: record.attempts }));
    out(row, "meta", meta.filter(Boolean).join(" · "));
    out(row, "error", record.state === "done" ? "" : record.error);
    const number = resultLink(record);
    if (number) {
      const link = out(row, "result", record.kind === "report" ? t("received_as", { number }) : t("case_n", { number }));
      link.href = `#/case/${encodeURIComponent(number)}`;
      link.hidden = false;
    }
    const act = (name) => $(row, `[data-act="${name}"]`);
    act("retry").hidden = record.state !== "failed";
    act("delete").hidden = !["failed", "needs_you", "waiting"].includes(record.state) || (record.state === "waiting" && navigator.onLine && record.attempts === 0);
    act("force").hidden = record.state !== "needs_you";
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
  await queue.add({
    kind: "me_too",
    url: `/api/cases/${encodeURIComponent(candidate.number)}/me-too`,
    fields: { token: candidate.me_too_token },
    label: candidate.number,
    ref: candidate.number,
  });
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

async function start() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(config.sw, { scope: config.home }).catch(() => {});
  }
  wireLanguage();
  renderNet();
  addEventListener("online", renderNet);
  addEventListener("offline", renderNet);
  addEventListener("queue:signin", () => {
    sessionStorage.setItem("gridgov-m-expired", "1");
    showBanner(t("sign_in_again"), "#/signin");
  });
  queue.onChange(renderBadge);
  await loadMe();
  await queue.start(words);
  renderBadge();
  renderTabs();
  addEventListener("hashchange", route);
  if (session.me && isStaff()) import("m/worker").then((m) => m.resume());
  await route();
  warm();
}

start().catch((error) => {
  view.replaceChildren(h("p", { class: "err", text: error instanceof ApiError ? error.message : t("server_error") }));
  throw error;
});
