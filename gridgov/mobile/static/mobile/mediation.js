/* The mediator's screens (人民调解), for those holding the mediator role:
   - #/mediation: their open disputes, high risk first (number, kind, risk colour, parties, sessions held), and
     the follow-up visits due this week, the overdue first;
   - #/dispute/<number>: a dispute — what it is about, its parties (ID numbers and phones masked by the server),
     its mediators, the sessions held and every step of its timeline;
   - #/session/<number>: record a session — when and where it was held, the mediators and parties present,
     what was said and agreed, the next steps (#/session/<number>~<queue key> puts right one the server refused);
   - #/follow-up/<id>: record a follow-up visit (回访) — whether the agreement was performed, what the mediator
     found, and where the phone was when there is a location.
   The disputes and the visits due (/api/mediation/mine) and the pages of the first disputes are kept on the
   phone while there is a signal, and sessions and visits go through the queue with their Idempotency-Key (the
   mediation API answers a key sent again with its first answer: one session, one visit), so a mediator in a
   herdsman's yurt without a signal records the session there; the screens show it as waiting until it is sent. */

import { $, api, clearErrors, config, h, kept, number as formatNumber, out, screen, session, showError, t, when } from "m/core";
import { GEN, kv } from "m/db";
import * as queue from "m/queue";
import { caseRow } from "m/cases";
import { locate } from "m/report";

const MINE = "/api/mediation/mine";
const API = "/api/mediation";
// What the phone keeps of the person signed in (forgotten when they sign out: app.js).
export const KEPT = ["mediation", "mediation_details"];
const KINDS = new Set(["session", "follow_up"]);
// The pages of so many disputes are kept for use without a signal (those with visits due, then high risk first).
const PREFETCH = 20;
const RISK_COLOUR = { low: "green", medium: "yellow", high: "red" };
const SESSION_STATES = new Set(["assigned", "mediating"]);
// The phone's clock may run a little ahead of the server's.
const CLOCK_SLACK_MS = 2 * 60_000;
const locale = config.language === "en" ? "en-GB" : "zh-CN";
const dayFormat = new Intl.DateTimeFormat(locale, { timeZone: "Asia/Shanghai", month: "numeric", day: "numeric" });
const localInput = new Intl.DateTimeFormat("sv-SE", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

function day(isoDate) {
  return isoDate ? dayFormat.format(new Date(`${isoDate}T12:00:00+08:00`)) : "";
}

/** Now in Asia/Shanghai as a datetime-local value (YYYY-MM-DDTHH:MM), whatever the phone's own time zone. */
function nowLocal() {
  return localInput.format(new Date()).replace(" ", "T");
}

/** Keep, while there is a signal, what the mediator's screens need without one. */
export function warm() {
  if (session.me?.can_mediate) kept("mediation", MINE).then(keepDetails).catch(() => {});
}

/** The pages of the disputes the mediator will most likely open: those with a visit due, then the open ones. */
async function keepDetails(mine) {
  if (mine?.fresh === false) return;
  const numbers = [...new Set([...mine.follow_ups_due.map((v) => v.dispute), ...mine.disputes.map((d) => d.number)])].slice(0, PREFETCH);
  const gen = await kv.get(GEN);
  const found = await Promise.all(numbers.map((n) => api(`${API}/disputes/${encodeURIComponent(n)}`).catch(() => null)));
  const details = {};
  for (const detail of found) if (detail && detail.fresh !== false) details[detail.number] = detail;
  await kv.setIf(gen, "mediation_details", details);
  dispatchEvent(new CustomEvent("mediation:kept"));
}

// A record sent: the list and the dispute's page are read again, so that they say what the server says now.
addEventListener("queue:done", (event) => {
  const record = event.detail;
  if (!KINDS.has(record?.kind) || !navigator.onLine || !session.me?.can_mediate) return;
  kept("mediation", MINE).catch(() => {});
  const number = record.kind === "session" ? record.label : record.result?.dispute;
  if (number) disputeOf(number).catch(() => {});
});

async function records() {
  return (await queue.mine()).filter((r) => KINDS.has(r.kind));
}

function waiting(record) {
  return record.state === "waiting" || record.state === "sending";
}

// ------------------------------------------------------------------------------------------ what became of it

/** What the server answered a mediator's record, in words (and where to look), once it is sent. */
export function outcome(record) {
  const r = record.result;
  if (!KINDS.has(record.kind) || record.state !== "done" || !r) return null;
  if (record.kind === "session") {
    return { text: t("session_recorded", { at: when(r.held_at) }), href: `#/dispute/${encodeURIComponent(record.label)}` };
  }
  return { text: t("follow_up_recorded", { result: r.result_label }), href: `#/dispute/${encodeURIComponent(r.dispute)}` };
}

/** Where a refused session is put right: its form, filled in as it was sent. */
export function fixLink(record) {
  return record.state === "failed" && record.kind === "session" ? `#/session/${encodeURIComponent(`${record.label}~${record.key}`)}` : "";
}

// ------------------------------------------------------------------------------------------ the hub

function amount(value) {
  return value === null || value === undefined || value === "" ? "" : t("yuan", { amount: formatNumber(Number(value), 2) });
}

function partiesOf(d) {
  return (d.parties ?? []).map((p) => p.name).filter(Boolean).join("、");
}

function disputeRow(d, pending) {
  const sub = [d.number, d.kind_label, partiesOf(d)];
  if (pending) sub.push(t("session_waiting"));
  else if (d.sessions) sub.push(t("sessions_n", { n: d.sessions }));
  const part = { lead: "my_part_lead", assistant: "my_part_assistant", committee: "my_part_committee" }[d.my_part];
  const row = caseRow({
    href: `#/dispute/${encodeURIComponent(d.number)}`,
    title: d.title,
    sub: sub.filter(Boolean).join(" · "),
    state: part ? t(part) : d.state_label,
    stateClass: `ds-${d.my_part || d.state}`,
    colour: RISK_COLOUR[d.risk] ?? "",
  });
  const link = $(row, "a");
  link.classList.add("wrap"); // the parties' names on a second line rather than cut off
  link.dataset.dispute = d.number;
  link.dataset.risk = d.risk;
  $(row, '[data-out="colour"]').setAttribute("title", d.risk_label);
  return row;
}

function visitRow(v, title, record) {
  const overdue = v.done_at === null && v.due_on < today();
  let state = overdue ? t("overdue") : t("due_on", { date: day(v.due_on) });
  let stateClass = overdue ? "st-overdue" : "";
  if (record) {
    state = t(record.state);
    stateClass = `q-${record.state}`;
  }
  const row = caseRow({
    href: `#/follow-up/${v.id}`,
    title: title || t("dispute_n", { number: v.dispute }),
    sub: title ? v.dispute : "",
    state,
    stateClass,
    colour: overdue ? "red" : "",
  });
  const link = $(row, "a");
  link.dataset.followUp = v.id;
  if (overdue) link.classList.add("overdue");
  return row;
}

function empty(text) {
  return h("li", { class: "hint", text });
}

async function mine(node, { refresh = true } = {}) {
  try {
    const data = await kept("mediation", MINE, { refresh });
    if (data.fresh === false && refresh) out(node, "status", t("load_failed"));
    return data;
  } catch (error) {
    out(node, "status", error.message);
    return null;
  }
}

/** The latest record of each follow-up visit that is not refused (sent, or waiting to be). */
function visitRecords(all) {
  const latest = {};
  for (const r of all) if (r.kind === "follow_up" && r.state !== "failed") latest[r.ref] = r;
  return latest;
}

export async function hub() {
  const node = screen("t-mediation");
  const data = await mine(node);
  if (!data) return node;
  async function render() {
    const all = await records();
    const pendingSessions = new Set(all.filter((r) => r.kind === "session" && waiting(r)).map((r) => r.label));
    const visits = visitRecords(all);
    out(node, "open", String(data.disputes.length));
    out(node, "high", String(data.disputes.filter((d) => d.risk === "high").length));
    const due = data.follow_ups_due.filter((v) => !visits[`follow-up:${v.id}`]);
    out(node, "due", String(due.length));
    const list = $(node, '[data-list="disputes"]');
    list.replaceChildren(...(data.disputes.length ? data.disputes.map((d) => disputeRow(d, pendingSessions.has(d.number))) : [empty(t("no_disputes"))]));
    const details = (await kv.get("mediation_details")) ?? {};
    const titles = Object.fromEntries([...data.disputes, ...Object.values(details)].map((d) => [d.number, d.title]));
    const visitList = $(node, '[data-list="follow-ups"]');
    const rows = data.follow_ups_due.map((v) => visitRow(v, titles[v.dispute], visits[`follow-up:${v.id}`]));
    visitList.replaceChildren(...(rows.length ? rows : [empty(t("no_follow_ups"))]));
  }
  await render();
  const stop = queue.onChange(() => render());
  // The disputes' pages just kept name the disputes of the visits due.
  const again = () => render();
  addEventListener("mediation:kept", again);
  return {
    node,
    dispose: () => {
      stop();
      removeEventListener("mediation:kept", again);
    },
  };
}

// ------------------------------------------------------------------------------------------ a dispute

/** The dispute as the server tells it now, else the phone's copy of its page, else what the list kept of it. */
async function disputeOf(number) {
  const key = String(number).toUpperCase();
  try {
    const detail = await api(`${API}/disputes/${encodeURIComponent(number)}`);
    if (detail.fresh !== false) {
      const gen = await kv.get(GEN);
      const details = (await kv.get("mediation_details")) ?? {};
      details[detail.number] = detail;
      await kv.setIf(gen, "mediation_details", details);
      return detail;
    }
  } catch (error) {
    if (error.status !== 0) throw error;
  }
  const details = (await kv.get("mediation_details")) ?? {};
  const copy = details[key] ?? Object.values(details).find((d) => String(d.id) === String(number));
  if (copy) return Object.assign(copy, { offline: true });
  const list = await kv.get("mediation");
  const summary = list?.disputes?.find((d) => d.number === key || String(d.id) === String(number));
  if (summary) {
    return {
      ...summary,
      assistants: summary.mediators.filter((m) => m.id !== summary.lead_mediator?.id),
      sessions: [],
      follow_ups: [],
      events: [],
      may_act: true,
      offline: true,
      summary: true,
    };
  }
  return null;
}

function mediatorsOf(d) {
  const all = [d.lead_mediator, ...(d.assistants ?? [])].filter(Boolean);
  return all.filter((m, i) => all.findIndex((x) => x.id === m.id) === i);
}

function partyCard(p) {
  const card = screen("t-party");
  out(card, "name", p.name);
  out(card, "role", p.role_label);
  out(card, "details", [p.id_number, p.phone, p.address].filter(Boolean).join(" · "));
  return card;
}

/** The steps of the timeline, the sessions told in full (when, where, who was there, what was said). */
function timelineItems(d, pending) {
  const items = [];
  const sessions = [...(d.sessions ?? [])];
  for (const ev of d.events ?? []) {
    // A session and its step are recorded at the same moment.
    const at = Date.parse(ev.at);
    const index = ev.action === "session" ? Math.max(0, sessions.findIndex((x) => Date.parse(x.recorded_at) === at)) : -1;
    if (index >= 0 && sessions.length) {
      const [s] = sessions.splice(index, 1);
      const present = (d.parties ?? []).filter((p) => s.parties_present.includes(p.id)).map((p) => p.name);
      items.push(h("li", { "data-action": "session" },
        h("strong", { text: ev.action_label }),
        h("time", { datetime: s.held_at, text: [when(s.held_at), s.place, s.mediators.map((m) => m.name).join("、")].filter(Boolean).join(" · ") }),
        present.length ? h("p", { class: "meta", text: t("present", { names: present.join("、") }) }) : null,
        s.notes ? h("p", { text: s.notes }) : null,
        s.next_steps ? h("p", { class: "meta", text: t("next_steps", { text: s.next_steps }) }) : null));
      continue;
    }
    items.push(h("li", { "data-action": ev.action },
      h("strong", { text: ev.action_label }),
      h("time", { datetime: ev.at, text: [when(ev.at), ev.actor].filter(Boolean).join(" · ") }),
      ev.note ? h("p", { text: ev.note }) : null));
  }
  for (const r of pending) {
    items.push(h("li", { class: "waiting", "data-action": "session", "data-key": r.key },
      h("strong", { text: `${t("kind_session")} · ${t(r.state)}` }),
      h("time", { text: [when(r.fields.held_at), r.fields.place].filter(Boolean).join(" · ") }),
      r.fields.notes ? h("p", { text: r.fields.notes }) : null));
  }
  return items;
}

export async function dispute(number) {
  const node = screen("t-dispute");
  let d;
  try {
    d = await disputeOf(number);
  } catch (error) {
    node.replaceChildren(h("h1", { text: number }), h("p", { class: "err", text: error.message }));
    return node;
  }
  if (!d) {
    node.replaceChildren(h("h1", { text: number }), h("p", { class: "err", text: t("not_cached") }));
    return node;
  }
  node.dataset.number = d.number;
  node.dataset.state = d.state;
  out(node, "number", d.number);
  out(node, "state", d.state_label).classList.add(`ds-${d.state}`);
  $(node, '[data-out="risk-dot"]').classList.add(RISK_COLOUR[d.risk] ?? "none");
  out(node, "title", d.title);
  out(node, "kind", [d.kind_label, d.risk_label, d.level_label].filter(Boolean).join(" · "));
  if (d.offline) out(node, "status", d.summary ? t("timeline_offline") : t("load_failed"));
  out(node, "description", d.description);
  const fact = (name, text) => {
    $(node, `[data-fact="${name}"]`).hidden = !text;
    out(node, name, text);
  };
  fact("place", d.address);
  fact("amount", amount(d.amount));
  out(node, "received", [when(d.received_at), d.received_by].filter(Boolean).join(" · "));
  fact("committee", d.committee?.name ?? "");
  fact("mediators", mediatorsOf(d).map((m) => m.name).join("、"));
  $(node, '[data-list="parties"]').replaceChildren(...(d.parties ?? []).map(partyCard));

  const sessionLink = $(node, '[data-act="session"]');
  sessionLink.href = `#/session/${encodeURIComponent(d.number)}`;
  const mayRecord = SESSION_STATES.has(d.state) && d.may_act !== false;
  sessionLink.hidden = !mayRecord;
  const whyNot = out(node, "why-not", d.state === "received" ? t("not_assigned") : "");
  whyNot.hidden = !whyNot.textContent;

  async function render() {
    const all = (await records()).filter((r) => r.kind === "session" && r.label === d.number);
    const pending = all.filter(waiting);
    const refused = all.at(-1)?.state === "failed" ? all.at(-1) : null;
    const box = out(node, "pending", pending.length === 1 ? `${t("kind_session")} · ${navigator.onLine ? t("sending_now") : t("saved_offline")}` : pending.length ? t("queued_n", { n: pending.length }) : "");
    box.hidden = !pending.length;
    const said = out(node, "refused", refused ? `${t("kind_session")}: ${refused.error}` : "");
    said.hidden = !refused;
    if (refused) said.append(" ", h("a", { href: fixLink(refused), text: t("correct_it") }));
    // Sent since the page was read: on the timeline too (the page is read again when it is opened again).
    const sentSince = all.filter((r) => r.state === "done" && r.result && !(d.sessions ?? []).some((s) => s.id === r.result.id));
    const shown = { ...d, sessions: [...(d.sessions ?? []), ...sentSince.map((r) => r.result)], events: [...(d.events ?? []), ...sentSince.map((r) => ({ action: "session", action_label: t("kind_session"), at: r.result.recorded_at }))] };
    $(node, '[data-list="events"]').replaceChildren(...timelineItems(shown, pending));
  }
  const visits = visitRecords(await records());
  const open = (d.follow_ups ?? []).filter((v) => !v.done_at);
  $(node, '[data-list="follow-ups"]').replaceChildren(...open.map((v) => visitRow(v, t("follow_up_n", { date: day(v.due_on) }), visits[`follow-up:${v.id}`])));
  await render();
  const stop = queue.onChange(() => render());
  return { node, dispose: stop };
}

// ------------------------------------------------------------------------------------------ recording a session

function pick(box, { name, value, text, checked }) {
  box.append(h("label", { class: "check" }, h("input", { type: "checkbox", name, value, checked }), h("span", { text })));
}

export async function sessionForm(arg) {
  const node = screen("t-session");
  const [number, key = ""] = String(arg).split("~");
  const refused = key ? await queue.get(key) : null;
  const before = refused?.state === "failed" ? refused.fields : null;
  const d = await disputeOf(number).catch(() => null);
  if (!d || (key && !refused)) {
    node.replaceChildren(h("p", { class: "err", text: t("not_cached") }));
    return node;
  }
  const back = out(node, "back", d.number);
  back.href = `#/dispute/${encodeURIComponent(d.number)}`;
  out(node, "dispute", `${d.number} · ${d.title}`);
  const form = $(node, "form");
  if (!SESSION_STATES.has(d.state) && !before) {
    showError(form, "", d.state === "received" ? t("not_assigned") : d.state_label);
    $(form, "button.primary").disabled = true;
  }
  // The mediators of the dispute (all ticked: untick who was not there), the parties (all ticked).
  const mediators = mediatorsOf(d);
  const chosenMediators = new Set((before?.mediators ?? mediators.map((m) => m.id)).map(String));
  for (const m of mediators) pick($(form, '[data-list="mediators"]'), { name: "mediators", value: m.id, text: m.name, checked: chosenMediators.has(String(m.id)) });
  const chosenParties = new Set((before?.parties_present ?? (d.parties ?? []).map((p) => p.id)).map(String));
  for (const p of d.parties ?? []) pick($(form, '[data-list="parties"]'), { name: "parties_present", value: p.id, text: `${p.name} · ${p.role_label}`, checked: chosenParties.has(String(p.id)) });
  form.held_at.value = before ? before.held_at.slice(0, 16) : nowLocal();
  form.held_at.max = nowLocal();
  form.place.value = before?.place ?? d.address ?? "";
  form.others_present.value = before?.others_present ?? "";
  form.notes.value = before?.notes ?? "";
  form.next_steps.value = before?.next_steps ?? "";
  if (refused) {
    const said = out(node, "refused", refused.error);
    said.hidden = !refused.error;
    if (refused.field) showError(form, refused.field, refused.error);
  }

  function check(values) {
    if (!form.held_at.value) return ["held_at", t("need_held_at")];
    const at = Date.parse(values.held_at);
    if (Number.isNaN(at)) return ["held_at", t("need_held_at")];
    if (at > Date.now() + CLOCK_SLACK_MS) return ["held_at", t("held_in_future")];
    if (d.received_at && at < Date.parse(d.received_at) - 60_000) return ["held_at", t("held_before_received", { at: when(d.received_at) })];
    if (!values.mediators.length) return ["mediators", t("need_mediators")];
    if (!values.notes) return ["notes", t("need_session_notes")];
    return null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const ticked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => Number(i.value));
    const values = {
      held_at: `${form.held_at.value}:00+08:00`,
      mediators: ticked("mediators"),
      place: form.place.value.trim(),
      parties_present: ticked("parties_present"),
      others_present: form.others_present.value.trim(),
      notes: form.notes.value.trim(),
      next_steps: form.next_steps.value.trim(),
    };
    const problem = check(values);
    if (problem) return showError(form, ...problem);
    const button = $(form, "button.primary");
    button.disabled = true;
    try {
      if (refused) await queue.retry(refused.key, values, { replace: true });
      else {
        await queue.add({
          kind: "session",
          url: `${API}/disputes/${encodeURIComponent(d.number)}/sessions`,
          body: "json",
          fields: values,
          label: d.number,
          ref: `dispute:${d.number}`,
        });
      }
    } catch (error) {
      button.disabled = false;
      return showError(form, "", error.message || t("server_error")); // not kept: the form keeps it all
    }
    form.reset();
    location.hash = `#/dispute/${encodeURIComponent(d.number)}`;
  });
  return node;
}

// ------------------------------------------------------------------------------------------ a follow-up visit

async function visitOf(id) {
  const list = await kv.get("mediation");
  const details = (await kv.get("mediation_details")) ?? {};
  const found = list?.follow_ups_due?.find((v) => String(v.id) === String(id))
    ?? Object.values(details).flatMap((d) => d.follow_ups ?? []).find((v) => String(v.id) === String(id));
  return { visit: found ?? null, list, details };
}

export async function followUp(id) {
  const node = screen("t-follow-up");
  let { visit, list, details } = await visitOf(id);
  if (!visit && navigator.onLine) {
    // Not on the phone yet (a link from elsewhere): the lists are read again.
    list = await kept("mediation", MINE).catch(() => list);
    ({ visit, details } = await visitOf(id));
  }
  if (!visit) {
    node.replaceChildren(h("p", { class: "err", text: t("not_cached") }));
    return node;
  }
  const d = details[visit.dispute] ?? list?.disputes?.find((x) => x.number === visit.dispute);
  const back = out(node, "back", visit.dispute);
  back.href = `#/dispute/${encodeURIComponent(visit.dispute)}`;
  out(node, "dispute", [visit.dispute, d?.title].filter(Boolean).join(" · "));
  const due = out(node, "due", t("due_on", { date: day(visit.due_on) }));
  if (!visit.done_at && visit.due_on < today()) due.append(" ", h("span", { class: "chip st-overdue", text: t("overdue") }));

  const form = $(node, "form");
  const all = (await records()).filter((r) => r.ref === `follow-up:${visit.id}`);
  const sent = all.find((r) => r.state !== "failed");
  if (sent || visit.done_at) {
    // Recorded already (here, or elsewhere): a visit is recorded once.
    const box = out(node, "pending", sent ? `${t("kind_follow_up")} · ${t(sent.state)}` : t("follow_up_recorded", { result: visit.result_label }));
    box.hidden = false;
    if (sent && sent.state !== "done") box.append(h("p", { class: "hint", text: navigator.onLine ? t("sending_now") : t("saved_offline") }));
    form.hidden = true;
    const stop = queue.onChange(async () => {
      const now = await queue.get(sent?.key);
      if (now) box.firstChild.textContent = `${t("kind_follow_up")} · ${t(now.state)}`;
    });
    return { node, dispose: stop };
  }
  const refused = all.at(-1);
  if (refused) {
    const said = out(node, "refused", refused.error);
    said.hidden = !refused.error;
  }
  const results = (list?.choices?.follow_up_results ?? []);
  const box = $(form, '[data-list="results"]');
  for (const c of results) {
    box.append(h("label", {}, h("input", { type: "radio", name: "result", value: c.value, checked: refused?.fields?.result === c.value }), h("span", { class: `r-${c.value}`, text: c.label })));
  }
  if (refused) form.note.value = refused.fields.note ?? "";

  const state = { point: null };
  const where = $(form, '[data-out="where"]');
  async function findMe() {
    where.textContent = t("locating");
    where.className = "where";
    try {
      state.point = await locate();
      where.textContent = t("located", { m: Math.round(state.point.accuracy) });
      where.classList.add("ok");
    } catch (error) {
      if (state.point) return;
      where.textContent = error?.code === 1 ? t("location_denied") : t("no_location");
      where.classList.add("bad");
    }
  }
  $(form, '[data-act="locate"]').addEventListener("click", findMe);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const result = form.querySelector('input[name="result"]:checked')?.value;
    if (!result) return showError(form, "result", t("need_follow_up_result"));
    const fields = { result, note: form.note.value.trim(), done_at: new Date().toISOString() };
    // Where the visit was made, when the phone knows it.
    if (state.point) Object.assign(fields, { lon: state.point.lon, lat: state.point.lat, accuracy_m: Math.round(state.point.accuracy) });
    const button = $(form, "button.primary");
    button.disabled = true;
    try {
      await queue.add({
        kind: "follow_up",
        url: `${API}/follow-ups/${encodeURIComponent(visit.id)}`,
        body: "json",
        fields,
        label: visit.dispute,
        ref: `follow-up:${visit.id}`,
      });
    } catch (error) {
      button.disabled = false;
      return showError(form, "", error.message || t("server_error"));
    }
    if (refused) await queue.remove(refused.key); // this one replaces the refused one
    form.reset();
    location.hash = "#/mediation";
  });
  return { node, mounted: findMe };
}

