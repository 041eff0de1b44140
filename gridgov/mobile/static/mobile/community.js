/* The volunteer's screens, for those holding the volunteer role (志愿者):
   - #/volunteer[/tasks|activities|teams]: hours served, their teams' tasks, the activities open for sign-up and
     those they joined, their teams;
   - #/vtask/<id>: a task a grid gave their team — accept it, decline it (or give it back) saying why, report it
     done with what was done;
   - #/vactivity/<id>: an activity — sign up (with the team, when several of theirs may join), cancel; the hours
     served once the organiser confirmed them.
   Everything comes from one read (/api/community/mine), kept on the phone while there is a signal, and every
   action goes through the queue (its key is the Idempotency-Key, and the community API answers a repeated
   action as it answered the first), so a volunteer without a signal still acts: the screens show what waits
   as done already, marked as waiting, and a refusal where it was made. */

import { $, clearErrors, config, h, kept, number, out, screen, session, showError, t, when } from "m/core";
import * as queue from "m/queue";
import { caseRow } from "m/cases";

const MINE = "/api/community/mine";
const API = "/api/community";
// What the phone keeps of the person signed in (forgotten when they sign out: app.js).
export const KEPT = ["community"];
// The kinds of records these screens queue.
const KINDS = new Set(["task_accept", "task_decline", "task_done", "sign_up", "cancel_sign_up"]);
const PANELS = ["tasks", "activities", "teams"];
const OPEN_TASKS = new Set(["assigned", "accepted"]);
const locale = config.language === "en" ? "en-GB" : "zh-CN";
const dayFormat = new Intl.DateTimeFormat(locale, { timeZone: "Asia/Shanghai", month: "numeric", day: "numeric" });

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

function day(isoDate) {
  return isoDate ? dayFormat.format(new Date(`${isoDate}T12:00:00+08:00`)) : "";
}

function hours(value) {
  return t("hours_n", { h: number(value ?? 0, 1) });
}

/** Keep, while there is a signal, what the volunteer's screens need without one. */
export function warm() {
  if (session.me?.can_volunteer) kept("community", MINE).catch(() => {});
}

// A record sent: the phone's copy is read again, so that it says what the server says now.
addEventListener("queue:done", (event) => {
  if (KINDS.has(event.detail?.kind) && navigator.onLine) warm();
});

// ------------------------------------------------------------------------------------------ what the phone knows

function waiting(record) {
  return record.state === "waiting" || record.state === "sending";
}

/** Sent after the phone's copy was read: its answer is newer than the copy. */
function sentSince(record, data) {
  return record.state === "done" && record.result && Date.parse(record.done_at ?? 0) > Date.parse(data.as_of);
}

function labelOf(list, value) {
  return list?.find((c) => c.value === value)?.label ?? value;
}

function memberOfTeam(data, teamId) {
  const m = data.memberships.find((x) => x.team.id === teamId);
  return m ? { id: m.member_id, name: m.name } : null;
}

function isMine(data, ref) {
  return Boolean(ref) && data.memberships.some((m) => m.member_id === ref.id);
}

/** A task as the phone sees it now: the copy, then what was sent since and what waits to be sent. */
function taskNow(task, records, data) {
  const now = { ...task, pending: null, refused: null };
  const me = memberOfTeam(data, task.team.id);
  for (const r of records) {
    if (r.ref !== `task:${task.id}`) continue;
    if (r.state === "failed") {
      now.refused = r;
      continue;
    }
    now.refused = null; // acted again after the refusal
    if (sentSince(r, data) && r.result.id === task.id) Object.assign(now, r.result);
    else if (waiting(r)) {
      now.pending = r;
      if (r.kind === "task_accept") Object.assign(now, { state: "accepted", accepted_by: me });
      if (r.kind === "task_decline") Object.assign(now, { state: "declined", declined_by: me, reason: r.fields.reason ?? "" });
      if (r.kind === "task_done") Object.assign(now, { state: "done", result: r.fields.result ?? "", accepted_by: now.accepted_by ?? me });
      now.state_label = labelOf(data.choices.task_states, now.state);
    }
  }
  now.overdue = OPEN_TASKS.has(now.state) && Boolean(now.due_on) && now.due_on < today();
  now.mine = isMine(data, now.accepted_by);
  return now;
}

/** An activity as the phone sees it now (its sign-up, places, whether one may still sign up or cancel). */
function activityNow(activity, records, data) {
  const now = { ...activity, pending: null, refused: null };
  const had = () => (now.my_signup ? 1 : 0);
  for (const r of records) {
    if (r.ref !== `activity:${activity.id}`) continue;
    if (r.state === "failed") {
      now.refused = r;
      continue;
    }
    now.refused = null;
    const before = had();
    if (sentSince(r, data)) now.my_signup = r.result.cancelled ? null : r.result;
    else if (waiting(r)) {
      now.pending = r;
      if (r.kind === "cancel_sign_up") now.my_signup = null;
      else {
        const id = Number(r.fields.member) || activity.member_ids[0];
        const m = data.memberships.find((x) => x.member_id === id);
        now.my_signup = { member: { id, name: m?.name ?? "" }, team: m?.team ?? null, hours: null, attended: false, confirmed_at: null };
      }
    } else continue;
    now.signed += had() - before;
  }
  const started = Date.parse(activity.starts_at) <= Date.now();
  const open = activity.state === "open" && !started;
  if (now.capacity !== null && now.capacity !== undefined) now.places_left = Math.max(now.capacity - now.signed, 0);
  now.may_cancel = open && Boolean(now.my_signup);
  now.may_sign_up = open && !now.my_signup && activity.member_ids.length > 0 && now.places_left !== 0;
  now.started = started;
  return now;
}

async function records() {
  return (await queue.mine()).filter((r) => KINDS.has(r.kind));
}

/** The phone's copy (refreshed when there is a signal) with what was done on the phone since. */
async function load(node, { refresh = true } = {}) {
  let data;
  try {
    data = await kept("community", MINE, { refresh });
  } catch (error) {
    out(node, "status", error.message);
    return null;
  }
  if (data.fresh === false && refresh) out(node, "status", t("load_failed"));
  const all = await records();
  return {
    data,
    tasks: data.tasks.map((x) => taskNow(x, all, data)),
    activities: data.activities.map((x) => activityNow(x, all, data)),
  };
}

// ------------------------------------------------------------------------------------------ what became of it

/** What the server answered a volunteer's record, in words (and where to look), once it is sent. */
export function outcome(record) {
  const r = record.result;
  if (!KINDS.has(record.kind) || record.state !== "done" || !r) return null;
  if (record.kind.startsWith("task_")) return { text: `${r.title} · ${r.state_label}`, href: `#/vtask/${r.id}` };
  const said = r.cancelled ? t("sign_up_cancelled") : t("signed_up");
  return { text: [record.label, said].filter(Boolean).join(" · "), href: `#/vactivity/${r.activity_id}` };
}

// ------------------------------------------------------------------------------------------ the hub

function taskRow(task) {
  const sub = [task.team.name, task.due_on ? t("due_on", { date: day(task.due_on) }) : "", task.pending ? t("waiting") : ""];
  const row = caseRow({
    href: `#/vtask/${task.id}`,
    title: task.title,
    sub: sub.filter(Boolean).join(" · "),
    state: task.overdue ? t("overdue") : task.state_label,
    stateClass: task.overdue ? "st-overdue" : `ts-${task.state}`,
    colour: task.overdue ? "red" : "",
  });
  const link = $(row, "a");
  link.dataset.task = task.id;
  link.dataset.state = task.state;
  if (task.overdue) link.classList.add("overdue");
  return row;
}

function activityState(a) {
  const s = a.my_signup;
  if (s && a.pending) return [t("waiting"), "q-waiting"];
  // Held: whether the volunteer came, once the organiser said so.
  if (s && (a.started || a.state !== "open")) {
    if (s.confirmed_at) return s.attended ? [t("attended"), "as-signed"] : [t("absent"), "as-full"];
    return [t("attendance_pending"), "as-open"];
  }
  if (s) return [t("signed_up"), "as-signed"];
  if (a.state !== "open") return [a.state_label, `as-${a.state}`];
  if (a.started) return [t("started"), "as-done"];
  if (a.places_left === 0) return [t("full"), "as-full"];
  return [a.state_label, "as-open"];
}

function activityRow(a) {
  const [state, stateClass] = activityState(a);
  const sub = [when(a.starts_at), a.place, a.my_signup?.hours != null ? hours(a.my_signup.hours) : ""];
  const row = caseRow({ href: `#/vactivity/${a.id}`, title: a.title, sub: sub.filter(Boolean).join(" · "), state, stateClass, colour: "" });
  $(row, "a").dataset.activity = a.id;
  return row;
}

function teamCard(m) {
  const card = screen("t-team-card");
  out(card, "name", m.team.name);
  out(card, "kind", m.team.kind_label);
  out(card, "grid", m.team_grid.name);
  out(card, "leader", m.is_leader ? t("you_lead") : m.leader ? t("leader_is", { name: m.leader.name }) : "");
  out(card, "hours", t("my_hours", { h: number(m.hours, 1) }));
  if (m.team_phone) {
    const call = $(card, '[data-act="call"]');
    call.href = `tel:${m.team_phone.replace(/[^\d+]/g, "")}`;
    call.hidden = false;
    out(card, "phone", t("call_team", { phone: m.team_phone }));
  }
  return card;
}

function empty(text) {
  return h("li", { class: "hint", text });
}

export async function hub(panel = "") {
  const node = screen("t-volunteer");
  const shown = PANELS.includes(panel) ? panel : "tasks";
  for (const tab of node.querySelectorAll("[data-tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.tab === shown));
    tab.addEventListener("click", () => {
      // The panel in the address, so that "back" from a task or an activity comes to it again.
      history.replaceState(null, "", `#/volunteer/${tab.dataset.tab}`);
      for (const other of node.querySelectorAll("[data-tab]")) other.setAttribute("aria-selected", String(other === tab));
      for (const p of node.querySelectorAll("[data-panel]")) p.hidden = p.dataset.panel !== tab.dataset.tab;
    });
  }
  for (const p of node.querySelectorAll("[data-panel]")) p.hidden = p.dataset.panel !== shown;

  async function render(refresh) {
    const found = await load(node, { refresh });
    if (!found) return;
    const { data, tasks, activities } = found;
    out(node, "hours-total", hours(data.hours_total));
    out(node, "hours-year", hours(data.hours_this_year));
    const open = tasks.filter((x) => OPEN_TASKS.has(x.state));
    // Overdue first, then those waiting for an answer, then by the day they are due.
    open.sort((a, b) => b.overdue - a.overdue || (a.state === "assigned" ? 0 : 1) - (b.state === "assigned" ? 0 : 1) || (a.due_on ?? "9").localeCompare(b.due_on ?? "9") || a.id - b.id);
    const closed = tasks.filter((x) => !OPEN_TASKS.has(x.state));
    out(node, "open-tasks", String(open.length));
    $(node, '[data-list="open-tasks"]').replaceChildren(...(open.length ? open.map(taskRow) : [empty(t("no_vtasks"))]));
    $(node, '[data-list="closed-tasks"]').replaceChildren(...closed.map(taskRow));
    $(node, '[data-out="closed-title"]').hidden = !closed.length;
    const joined = activities.filter((a) => a.my_signup);
    const offered = activities.filter((a) => !a.my_signup && a.state === "open" && !a.started);
    $(node, '[data-list="open-activities"]').replaceChildren(...(offered.length ? offered.map(activityRow) : [empty(t("no_activities"))]));
    $(node, '[data-list="joined-activities"]').replaceChildren(...(joined.length ? joined.map(activityRow) : [empty(t("no_joined"))]));
    $(node, '[data-list="teams"]').replaceChildren(...(data.memberships.length ? data.memberships.map(teamCard) : [empty(t("no_teams"))]));
  }
  await render(true);
  // What the queue sends changes what the lists say (the phone's copy is read again once it is sent).
  const stop = queue.onChange(() => render(false));
  return { node, dispose: stop };
}

// ------------------------------------------------------------------------------------------ a task

async function queueAction(form, { kind, url, fields, label, ref, replaces }) {
  const button = $(form, "button.primary, button.danger, button.secondary");
  if (button) button.disabled = true;
  try {
    await queue.add({ kind, url, fields, label, ref });
  } catch (error) {
    if (button) button.disabled = false;
    showError(form, "", error.message || t("server_error")); // not kept: the form keeps what was typed
    return false;
  }
  if (replaces) await queue.remove(replaces.key); // this one replaces the refused one
  return true;
}

export async function task(id) {
  const node = screen("t-vtask");
  const found = await load(node, { refresh: false });
  const data = found?.data;
  const first = found?.tasks.find((x) => String(x.id) === String(id));
  if (!first) {
    node.replaceChildren(h("p", { class: "err", text: t("not_cached") }));
    return node;
  }
  const forms = {
    accept: $(node, '[data-form="accept"]'),
    done: $(node, '[data-form="done"]'),
    decline: $(node, '[data-form="decline"]'),
  };
  const declineWrap = $(node, '[data-wrap="decline"]');
  let current = first;

  function show(now) {
    current = now;
    node.dataset.state = now.state;
    out(node, "title", now.title);
    const chip = out(node, "state", now.overdue ? t("overdue") : now.state_label);
    chip.className = `chip ${now.overdue ? "st-overdue" : `ts-${now.state}`}`;
    out(node, "team", [now.team.name, now.grid.name].join(" · "));
    out(node, "due", now.due_on ? t("due_on", { date: day(now.due_on) }) : "");
    out(node, "description", now.description);
    $(node, '[data-out="description"]').hidden = !now.description;
    out(node, "given", [now.given_by.name, when(now.given_at)].join(" · "));
    const fact = (name, text) => {
      $(node, `[data-fact="${name}"]`).hidden = !text;
      out(node, name, text);
    };
    fact("case", now.case_number);
    fact("accepted", now.accepted_by ? [now.accepted_by.name, now.accepted_at ? when(now.accepted_at) : ""].filter(Boolean).join(" · ") : "");
    fact("result", now.result);
    fact("reason", now.state === "declined" || now.state === "cancelled" ? now.reason : "");
    const pending = out(node, "pending", now.pending ? `${t(`kind_${now.pending.kind}`)} · ${navigator.onLine ? t("sending_now") : t("saved_offline")}` : "");
    pending.hidden = !now.pending;
    const refused = out(node, "refused", now.refused ? `${t(`kind_${now.refused.kind}`)}: ${now.refused.error}` : "");
    refused.hidden = !now.refused;
    // What the volunteer may do now: accept or decline an assigned task; report done or give back their own.
    const assigned = now.state === "assigned";
    const mineAccepted = now.state === "accepted" && now.mine;
    forms.accept.hidden = !assigned;
    forms.done.hidden = !mineAccepted;
    declineWrap.hidden = !(assigned || mineAccepted);
    $(declineWrap, '[data-label="assigned"]').hidden = !assigned;
    $(declineWrap, '[data-label="accepted"]').hidden = assigned;
  }

  async function again() {
    const all = await records();
    const copy = (await load(node, { refresh: false }))?.data ?? data;
    const base = copy.tasks.find((x) => x.id === current.id) ?? first;
    show(taskNow(base, all, copy));
  }

  const url = (action) => `${API}/tasks/${encodeURIComponent(current.id)}/${action}`;
  forms.accept.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(forms.accept);
    const ok = await queueAction(forms.accept, { kind: "task_accept", url: url("accept"), fields: {}, label: current.title, ref: `task:${current.id}`, replaces: current.refused });
    if (ok) forms.accept.querySelector("button").disabled = false;
  });
  forms.done.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(forms.done);
    const result = forms.done.result.value.trim();
    if (!result) return showError(forms.done, "result", t("need_result"));
    if (await queueAction(forms.done, { kind: "task_done", url: url("done"), fields: { result }, label: current.title, ref: `task:${current.id}`, replaces: current.refused })) {
      forms.done.reset();
      forms.done.querySelector("button").disabled = false;
    }
  });
  forms.decline.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(forms.decline);
    const reason = forms.decline.reason.value.trim();
    if (!reason) return showError(forms.decline, "reason", t("need_reason"));
    if (await queueAction(forms.decline, { kind: "task_decline", url: url("decline"), fields: { reason }, label: current.title, ref: `task:${current.id}`, replaces: current.refused })) {
      forms.decline.reset();
      forms.decline.querySelector("button").disabled = false;
      declineWrap.open = false;
    }
  });
  show(first);
  const stop = queue.onChange(() => again());
  return { node, dispose: stop };
}

// ------------------------------------------------------------------------------------------ an activity

export async function activity(id) {
  const node = screen("t-vactivity");
  const found = await load(node, { refresh: false });
  const data = found?.data;
  const first = found?.activities.find((x) => String(x.id) === String(id));
  if (!first) {
    node.replaceChildren(h("p", { class: "err", text: t("not_cached") }));
    return node;
  }
  const signUp = $(node, '[data-form="sign-up"]');
  const cancel = $(node, '[data-form="cancel"]');
  const select = signUp.member;
  // Several of the volunteer's teams may join: they say with which.
  const eligible = data.memberships.filter((m) => first.member_ids.includes(m.member_id));
  for (const m of eligible) select.append(h("option", { value: m.member_id, text: m.team.name }));
  $(signUp, "[data-member]").hidden = eligible.length < 2;
  let current = first;

  function show(now) {
    current = now;
    node.dataset.signed = now.my_signup ? (now.pending ? "waiting" : "yes") : "no";
    out(node, "title", now.title);
    const [state, stateClass] = activityState(now);
    const chip = out(node, "state", state);
    chip.className = `chip ${stateClass}`;
    const who = now.team ? now.team.name : t("open_to_grid", { grid: now.grid.name });
    out(node, "kind", [now.kind_label, who].join(" · "));
    out(node, "when", t("time_range", { start: when(now.starts_at), end: when(now.ends_at) }) + ` (${hours(now.length_hours)})`);
    out(node, "place", now.place);
    $(node, '[data-fact="place"]').hidden = !now.place;
    const places = now.capacity == null ? t("no_limit", { n: now.signed }) : t("places_left", { n: now.places_left, capacity: now.capacity });
    out(node, "places", places);
    out(node, "organiser", now.organiser?.name ?? "");
    out(node, "notes", now.notes);
    $(node, '[data-out="notes"]').hidden = !now.notes;
    const s = now.my_signup;
    let said = "";
    if (s) {
      said = t("signed_up_with", { team: s.team?.name ?? s.member.name });
      if (now.pending) said += ` · ${navigator.onLine ? t("sending_now") : t("saved_offline")}`;
      else if (s.confirmed_at) said += ` · ${s.attended ? t("hours_served", { h: number(s.hours ?? 0, 1) }) : t("absent")}`;
      else if (now.started) said += ` · ${t("attendance_pending")}`;
    } else if (now.pending) said = `${t("kind_cancel_sign_up")} · ${navigator.onLine ? t("sending_now") : t("saved_offline")}`;
    const mine = out(node, "mine", said);
    mine.hidden = !said;
    const refused = out(node, "refused", now.refused ? `${t(`kind_${now.refused.kind}`)}: ${now.refused.error}` : "");
    refused.hidden = !now.refused;
    signUp.hidden = !now.may_sign_up;
    cancel.hidden = !now.may_cancel;
  }

  async function again() {
    const all = await records();
    const copy = (await load(node, { refresh: false }))?.data ?? data;
    const base = copy.activities.find((x) => x.id === current.id) ?? first;
    show(activityNow(base, all, copy));
  }

  const url = (action) => `${API}/activities/${encodeURIComponent(current.id)}/${action}`;
  signUp.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(signUp);
    const fields = eligible.length > 1 ? { member: select.value } : {};
    if (await queueAction(signUp, { kind: "sign_up", url: url("sign-up"), fields, label: current.title, ref: `activity:${current.id}`, replaces: current.refused })) {
      signUp.querySelector("button").disabled = false;
    }
  });
  cancel.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(cancel);
    const member = current.my_signup?.member?.id;
    const fields = eligible.length > 1 && member ? { member } : {};
    if (await queueAction(cancel, { kind: "cancel_sign_up", url: url("cancel-sign-up"), fields, label: current.title, ref: `activity:${current.id}`, replaces: current.refused })) {
      cancel.querySelector("button").disabled = false;
    }
  });
  show(first);
  const stop = queue.onChange(() => again());
  return { node, dispose: stop };
}
