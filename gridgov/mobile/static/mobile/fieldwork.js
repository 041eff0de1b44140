/* The grid worker's fieldwork (#/field), for those who patrol a level-3 grid:
   - inspection tasks by plan (#/inspections, overdue first; #/inspection/<id>: each check pass or fail, with a
     note on what is wrong, photos and the place) — a failed check opens a case on the server, whose number the
     record shows once sent;
   - visits (走访) to the households and places of the worker's grids (#/visits, #/visit/household-<id>,
     #/visit/place-<id>, #/visit/here);
   - registering a person (#/register; #/register/<queue key> puts right what the server refused).
   The task list, the first pages of households and places and the forms' choices (/api/mobile/fieldwork) are
   kept on the phone while there is a signal (warm()), and everything goes through the queue, so fieldwork
   without a signal is kept and goes up later; #/saved/<key> tells what became of it. */

import { $, ApiError, api, clearErrors, config, h, kept, out, screen, showError, t, when } from "m/core";
import { GEN, kv } from "m/db";
import { asFiles, picker } from "m/photo";
import * as queue from "m/queue";
import { caseRow } from "m/cases";
import { locate } from "m/report";

const TASKS = "/api/fieldwork/tasks";
const VISITS = "/api/fieldwork/visits";
const PERSONS = "/api/registry/persons";
const CHOICES = "/api/mobile/fieldwork";
const LISTS = {
  household: { name: "households", path: "/api/registry/households", empty: "no_households" },
  place: { name: "places", path: "/api/registry/organisations", empty: "no_places" },
};
const PAGE = 100;
// Households and places kept for use without a signal: the first pages of each (a grid holds a few hundred).
const KEPT_PAGES = 3;
const SEARCH_DELAY_MS = 300;
// What the phone keeps of the person signed in (forgotten when they sign out: app.js).
export const KEPT = ["fieldwork", "inspections", "households", "places"];
const locale = config.language === "en" ? "en-GB" : "zh-CN";
const dayFormat = new Intl.DateTimeFormat(locale, { timeZone: "Asia/Shanghai", year: "numeric", month: "numeric", day: "numeric" });

/** Today in Asia/Shanghai as YYYY-MM-DD: a task kept since yesterday may be overdue today. */
function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

function day(isoDate) {
  return isoDate ? dayFormat.format(new Date(`${isoDate}T12:00:00+08:00`)) : "";
}

// ------------------------------------------------------------------------------------------ kept for offline

/** The first pages of a registry list, kept on the phone as one (like core.kept, pages at a time). */
async function keepPages(name, path) {
  const gen = await kv.get(GEN);
  const items = [];
  let before = null;
  let more = false;
  for (let n = 0; n < KEPT_PAGES; n += 1) {
    const page = await api(path, { query: { limit: PAGE, before } });
    items.push(...page.items);
    more = page.has_more;
    before = page.next_before;
    if (!more) break;
  }
  await kv.setIf(gen, name, { items, has_more: more, next_before: before });
}

/** Keep, while there is a signal, what the fieldwork screens need without one. */
export function warm() {
  kept("fieldwork", CHOICES).catch(() => {});
  kept("inspections", TASKS, { query: { limit: PAGE } }).catch(() => {});
  for (const list of Object.values(LISTS)) keepPages(list.name, list.path).catch(() => {});
}

function choices() {
  return kept("fieldwork", CHOICES).catch(() => null);
}

function options(select, list, selected = "") {
  for (const c of list ?? []) select.append(h("option", { value: c.code, text: c.name, selected: c.code === selected }));
}

// ------------------------------------------------------------------------------------------ what became of it

/** What the server answered a fieldwork record, in words (and where to look), once it is sent. */
export function outcome(record) {
  const r = record.result;
  if (record.state !== "done" || !r) return null;
  if (record.kind === "inspection") {
    if (!r.case_number) return { text: t("inspected_ok") };
    return { text: t("fault_case", { number: r.case_number }), href: `#/case/${encodeURIComponent(r.case_number)}` };
  }
  if (record.kind === "visit") return { text: t("visit_recorded", { at: when(r.visited_at) }) };
  if (record.kind === "register_person" && r.person) {
    const values = { name: r.person.name, document: r.person.document || r.person.document_kind_label };
    return { text: t(r.created ? "registered_as" : "registered_again", values) };
  }
  return null;
}

/** Every bad field the server named (the registry names them all at once), else its one message. */
export function refusals(record) {
  if (record.state !== "failed") return [];
  const errors = (record.result?.errors ?? []).map((e) => e.message).filter(Boolean);
  return errors.length > 1 ? errors : [];
}

/** Where a refused record is put right (a registration: its form, filled in as it was sent). */
export function fixLink(record) {
  return record.state === "failed" && record.kind === "register_person" ? `#/register/${encodeURIComponent(record.key)}` : "";
}

async function pendingOf(kind) {
  return (await queue.mine()).filter((r) => r.kind === kind && r.state !== "done");
}

// ------------------------------------------------------------------------------------------ the hub

export async function hub() {
  const node = screen("t-field");
  const data = await kept("inspections", TASKS, { query: { limit: PAGE } }).catch(() => null);
  if (data) {
    const tasks = data.items ?? [];
    const late = tasks.filter(isOverdue).length;
    out(node, "inspections", tasks.length ? t("inspections_n", { n: tasks.length, late }) : t("no_inspections"));
    if (data.fresh === false) out(node, "status", t("load_failed"));
  }
  for (const [kind, slot] of [["inspection", "inspections-waiting"], ["visit", "visits-waiting"], ["register_person", "register-waiting"]]) {
    const n = (await pendingOf(kind)).length;
    const chip = out(node, slot, n ? t("queued_n", { n }) : "");
    chip.classList.add("q-waiting");
  }
  if (navigator.onLine) warm();
  return node;
}

// ------------------------------------------------------------------------------------------ inspections

function isOverdue(task) {
  return task.state === "open" && (task.overdue || task.due_on < today());
}

function taskRow(task, record) {
  const late = isOverdue(task);
  const c = task.component;
  let state = late ? t("overdue") : "";
  let stateClass = late ? "st-overdue" : "";
  if (record) {
    state = t(record.state);
    stateClass = `q-${record.state}`;
  }
  const row = caseRow({
    href: `#/inspection/${task.id}`,
    title: `${c.name || task.item.name} · ${c.object_id}`,
    sub: [t("due_on", { date: day(task.due_on) }), c.location, task.plan.name].filter(Boolean).join(" · "),
    state,
    stateClass,
    colour: late ? "red" : "green",
  });
  const link = $(row, "a");
  link.dataset.task = task.id;
  if (late) link.classList.add("overdue");
  return row;
}

export async function inspections() {
  const node = screen("t-inspections");
  const list = $(node, '[data-list="tasks"]');
  let data;
  try {
    data = await kept("inspections", TASKS, { query: { limit: PAGE } });
  } catch (error) {
    out(node, "status", error.message);
    return node;
  }
  if (data.fresh === false) out(node, "status", t("load_failed"));
  const records = await queue.mine();
  const latest = (task) => records.filter((r) => r.ref === `task:${task.id}`).at(-1);
  // Overdue first, then by the day they are due (the server's order, again: a day may have passed offline).
  const tasks = [...(data.items ?? [])].sort((a, b) => isOverdue(b) - isOverdue(a) || a.due_on.localeCompare(b.due_on) || a.id - b.id);
  list.append(...tasks.map((task) => taskRow(task, latest(task))));
  if (!tasks.length) list.append(h("li", { class: "hint", text: t("no_inspections") }));
  return node;
}

/** Where the phone is: filled in on its own when the screen opens, again on "use my location". */
function whereBlock(form, state) {
  const where = $(form, '[data-out="where"]');
  async function find() {
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
  $(form, '[data-act="locate"]').addEventListener("click", find);
  return find;
}

function photoBlock(form) {
  return picker($(form, 'input[name="photo"]'), $(form, '[data-list="photos"]'), {
    max: config.maxPhotos,
    field: "photos",
    removeLabel: t("remove_photo"),
    onError: (key, values) => showError(form, "photos", t(key, values)),
  });
}

function place(fields, point) {
  if (point) Object.assign(fields, { lon: point.lon, lat: point.lat });
  return fields;
}

export async function inspection(id) {
  const node = screen("t-inspection");
  const data = await kept("inspections", TASKS, { query: { limit: PAGE }, refresh: false }).catch(() => null);
  // Beyond the kept first page (or a link from elsewhere): read the one task while there is a signal.
  const task =
    data?.items?.find((x) => String(x.id) === String(id)) ??
    (await api(`${TASKS}/${encodeURIComponent(id)}`).catch(() => null));
  if (!task) {
    node.replaceChildren(h("p", { class: "err", text: t("not_cached") }));
    return node;
  }
  const c = task.component;
  node.dataset.task = task.id;
  out(node, "title", `${c.name || task.item.name} · ${c.object_id}`);
  out(node, "component", [task.item.name, c.location, task.grid.name].filter(Boolean).join(" · "));
  const due = out(node, "due", [t("due_on", { date: day(task.due_on) }), task.plan.name].join(" · "));
  if (isOverdue(task)) due.append(" ", h("span", { class: "chip st-overdue", text: t("overdue") }));

  const form = $(node, "form");
  const records = (await queue.mine()).filter((r) => r.ref === `task:${task.id}`);
  const sent = records.find((r) => r.state !== "failed");
  if (sent) {
    // Recorded on this phone already: once is enough (a second completion would be refused).
    const box = out(node, "pending", "");
    box.hidden = false;
    box.append(h("a", { href: `#/saved/${encodeURIComponent(sent.key)}`, text: `${t("kind_inspection")} · ${t(sent.state)}` }));
    if (sent.state !== "done") box.append(h("p", { class: "hint", text: t("waits_for_sending") }));
    form.hidden = true;
    return node;
  }
  const refused = records.at(-1);
  if (refused) showError(form, "", refused.error);

  const checks = $(form, '[data-list="checks"]');
  for (const check of task.checklist) {
    const item = screen("t-check");
    item.dataset.code = check.code;
    out(item, "text", check.text);
    for (const radio of item.querySelectorAll('input[type="radio"]')) radio.name = `answer-${check.code}`;
    $(item, '[data-err="answer"]').dataset.err = `answer-${check.code}`;
    $(item, '[data-err="fault"]').dataset.err = `fault-${check.code}`;
    $(item, "textarea").name = `fault-${check.code}`;
    const fault = $(item, "[data-fault]");
    item.addEventListener("change", () => {
      fault.hidden = item.querySelector("input:checked")?.value !== "not_ok";
      const slot = $(item, `[data-err="answer-${CSS.escape(check.code)}"]`);
      if (slot) slot.textContent = "";
    });
    checks.append(item);
  }
  const photos = photoBlock(form);
  const state = { point: null };
  const findMe = whereBlock(form, state);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const answers = {};
    for (const check of task.checklist) {
      const picked = form.querySelector(`input[name="${CSS.escape(`answer-${check.code}`)}"]:checked`);
      if (!picked) return showError(form, `answer-${check.code}`, t("need_answer"));
      const note = form.querySelector(`textarea[name="${CSS.escape(`fault-${check.code}`)}"]`).value.trim();
      if (picked.value === "not_ok" && !note) return showError(form, `fault-${check.code}`, t("need_description"));
      answers[check.code] = picked.value === "ok" ? "ok" : { answer: "not_ok", note };
    }
    const key = queue.uuid();
    const fields = place({ key, at: new Date().toISOString(), answers: JSON.stringify(answers), note: form.note.value.trim() }, state.point);
    const button = $(form, "button.primary");
    button.disabled = true;
    try {
      await queue.add({
        key,
        kind: "inspection",
        url: `${TASKS}/${task.id}/complete`,
        fields,
        files: asFiles(photos),
        label: `${c.name || task.item.name} ${c.object_id}`,
        ref: `task:${task.id}`,
      });
    } catch (error) {
      button.disabled = false;
      return showError(form, "", error.message || t("server_error")); // not kept: the form keeps it all
    }
    if (refused) await queue.remove(refused.key); // this one replaces the refused one
    form.reset();
    photos.length = 0;
    location.hash = `#/saved/${encodeURIComponent(key)}`;
  });
  return {
    node,
    mounted: findMe,
    dispose: () => {
      for (const p of photos) URL.revokeObjectURL(p.url);
    },
  };
}

// ------------------------------------------------------------------------------------------ visits

// The household or place picked in the list, for the visit's form (also found again in the phone's copy).
let picked = null;

function visitedRow(kind, record) {
  const href = `#/visit/${kind}-${record.id}`;
  const title = kind === "household" ? [record.number, record.house_number].filter(Boolean).join(" · ") : record.name;
  const sub = kind === "household" ? record.address : [record.kind_label, record.address].filter(Boolean).join(" · ");
  const chip = kind === "household" ? t("members_n", { n: record.members }) : "";
  return h("li", {}, h("a", { class: "case-row", href, "data-id": record.id, onclick: () => { picked = { kind, record }; } },
    h("span", { class: "main" }, h("strong", { text: title }), h("small", { text: sub || record.grid?.name || "" })),
    h("span", { class: "chip", text: chip })));
}

function matches(record, q) {
  const text = [record.number, record.house_number, record.address, record.name, record.credit_code].filter(Boolean).join(" ").toLowerCase();
  return text.includes(q.toLowerCase());
}

export async function visits() {
  const node = screen("t-visits");
  const list = $(node, '[data-list="records"]');
  const more = $(node, '[data-act="more"]');
  const search = $(node, 'input[name="q"]');
  let kind = "household";
  let before = null;
  let ticket = 0;

  async function load(append = false) {
    const mine = ++ticket;
    const { name, path, empty } = LISTS[kind];
    const q = search.value.trim();
    let page;
    let status = "";
    try {
      page = await api(path, { query: { q, limit: PAGE, before: append ? before : null } });
    } catch (error) {
      if (error.status !== 0) {
        out(node, "status", error.message);
        return;
      }
      // No signal: the phone's copy, searched here.
      const copy = await kv.get(name);
      if (!copy) {
        if (mine === ticket) out(node, "status", t("not_cached"));
        return;
      }
      page = { items: copy.items.filter((r) => !q || matches(r, q)), has_more: false, next_before: null };
      status = t("load_failed");
    }
    if (mine !== ticket) return; // a later search answered first
    if (!append) list.replaceChildren();
    list.append(...page.items.map((r) => visitedRow(kind, r)));
    before = page.next_before;
    more.hidden = !page.has_more;
    out(node, "status", status || (list.children.length ? "" : t(empty)));
  }

  for (const tab of node.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", () => {
      kind = tab.dataset.tab;
      for (const other of node.querySelectorAll("[data-tab]")) other.setAttribute("aria-selected", String(other === tab));
      search.placeholder = search.dataset[kind === "household" ? "placeholderHousehold" : "placeholderPlace"];
      search.value = "";
      load();
    });
  }
  search.placeholder = search.dataset.placeholderHousehold;
  let timer = 0;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(), SEARCH_DELAY_MS);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      clearTimeout(timer);
      load();
    }
  });
  more.addEventListener("click", () => load(true));
  await load();
  return { node, dispose: () => clearTimeout(timer) };
}

async function visitedRecord(kind, id) {
  if (picked?.kind === kind && String(picked.record.id) === String(id)) return picked.record;
  const copy = await kv.get(LISTS[kind].name);
  return copy?.items?.find((r) => String(r.id) === String(id)) ?? { id: Number(id) };
}

export async function visit(arg) {
  const node = screen("t-visit");
  const form = $(node, "form");
  const [kind, id] = arg === "here" ? ["here", ""] : arg.split("-");
  if (!LISTS[kind] && kind !== "here") {
    node.replaceChildren(h("p", { class: "err", text: t("not_cached") }));
    return node;
  }
  const record = kind === "here" ? null : await visitedRecord(kind, id);
  if (kind === "household") {
    out(node, "title", [record.number || `#${record.id}`, record.house_number].filter(Boolean).join(" · "));
    out(node, "sub", [record.address, record.members ? t("members_n", { n: record.members }) : ""].filter(Boolean).join(" · "));
  } else if (kind === "place") {
    out(node, "title", record.name || `#${record.id}`);
    out(node, "sub", [record.kind_label, record.address].filter(Boolean).join(" · "));
  } else {
    out(node, "title", t("visit_here"));
  }
  const purposes = (await choices())?.purposes ?? [];
  options(form.purpose, purposes, kind === "place" ? "check" : "routine");
  const photos = photoBlock(form);
  const state = { point: null };
  const findMe = whereBlock(form, state);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!form.purpose.value) return showError(form, "purpose", t("not_cached"));
    if (kind === "here" && !state.point) return showError(form, "location", t("no_location"));
    const key = queue.uuid();
    const fields = { key, at: new Date().toISOString(), purpose: form.purpose.value, note: form.note.value.trim() };
    if (kind === "household") fields.household = record.id;
    if (kind === "place") fields.organisation = record.id;
    place(fields, state.point);
    if (state.point) fields.accuracy_m = Math.round(state.point.accuracy);
    try {
      await queue.add({
        key,
        kind: "visit",
        url: VISITS,
        fields,
        files: asFiles(photos),
        label: [form.purpose.selectedOptions[0]?.textContent, record?.number ?? record?.name].filter(Boolean).join(" · "),
        ref: `visit:${arg}`,
      });
    } catch (error) {
      return showError(form, "", error.message || t("server_error"));
    }
    form.reset();
    photos.length = 0;
    location.hash = `#/saved/${encodeURIComponent(key)}`;
  });
  return {
    node,
    mounted: findMe,
    dispose: () => {
      for (const p of photos) URL.revokeObjectURL(p.url);
    },
  };
}

// ------------------------------------------------------------------------------------------ registering a person

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = "10X98765432";

/** The phone's own check of a citizen ID number (GB 11643: 17 digits and a check character): catches a typing
    error before the record waits in the queue. The server checks it again, with the rest (date, region). */
export function idNumberProblem(value) {
  const number = value.replace(/\s/g, "").toUpperCase();
  if (!/^\d{17}[\dX]$/.test(number)) return t("id_length");
  const sum = ID_WEIGHTS.reduce((total, weight, i) => total + weight * Number(number[i]), 0);
  return ID_CHECK[sum % 11] === number[17] ? "" : t("id_check_digit");
}

const PERSON_FIELDS = ["name", "document_kind", "document_number", "gender", "birth_date", "ethnicity", "phone", "grid", "household", "relation", "residence", "address"];
const OPTIONAL_EMPTY = ["name", "birth_date", "grid", "household"];
// Personal data not kept on the phone once the server has it (the record shows the masked number it answers).
const PRIVATE = ["document_number", "phone", "birth_date", "key_groups", "address"];

export async function register(key = "") {
  const node = screen("t-register");
  const form = $(node, "form");
  const input = (name) => form.elements.namedItem(name);
  const data = await choices();
  // Putting right a registration the server refused: its form as it was sent, every complaint at its field.
  const refused = key ? await queue.get(key) : null;
  const before = refused?.state === "failed" ? refused.fields : {};
  if (key && !refused) {
    node.replaceChildren(h("p", { class: "err", text: t("not_cached") }));
    return node;
  }
  if (!data) {
    out(node, "refused", t("not_cached")).hidden = false;
    form.hidden = true;
    return node;
  }
  options(input("document_kind"), data.document_kinds, before.document_kind ?? "id_card");
  options(input("gender"), data.genders, before.gender ?? "");
  options(input("ethnicity"), data.ethnicities, before.ethnicity ?? "");
  options(input("relation"), data.relations, before.relation ?? "");
  options(input("residence"), data.residences, before.residence ?? "registered");
  if (data.grids.length > 1) input("grid").append(h("option", { value: "", text: "—" }));
  for (const g of data.grids) input("grid").append(h("option", { value: g.code, text: g.name, selected: g.code === before.grid }));
  for (const name of ["name", "document_number", "birth_date", "phone", "household", "address"]) {
    if (before[name] !== undefined) input(name).value = before[name];
  }
  if (data.key_groups.length) {
    const box = $(form, '[data-list="groups"]');
    const chosen = new Set([].concat(before.key_groups ?? []));
    for (const g of data.key_groups) {
      box.append(h("label", { class: "check" }, h("input", { type: "checkbox", name: "key_groups", value: g.code, checked: chosen.has(g.code) }), h("span", { text: g.name })));
    }
    const details = $(form, "[data-groups]");
    details.hidden = false;
    details.open = chosen.size > 0;
  }
  const households = await kv.get("households");
  $(node, "datalist").append(...(households?.items ?? []).map((r) => h("option", { value: r.number, text: r.address || "" })));

  // An ID card tells the gender and the date of birth; other documents do not.
  const genderBlank = input("gender").options[0];
  const other = genderBlank.textContent;
  function byDocument() {
    const idCard = input("document_kind").value === "id_card";
    genderBlank.textContent = idCard ? genderBlank.dataset.idCard : other;
    $(form, "[data-birth]").hidden = idCard && !input("birth_date").value;
  }
  function byHousehold() {
    $(form, "[data-relation]").hidden = !input("household").value.trim() && !input("relation").value;
  }
  input("document_kind").addEventListener("change", byDocument);
  input("household").addEventListener("input", byHousehold);
  byDocument();
  byHousehold();

  if (refused) {
    out(node, "refused", refused.error).hidden = !refused.error;
    const errors = refused.result?.errors?.length ? refused.result.errors : [{ field: refused.field, message: refused.error }];
    for (const e of [...errors].reverse()) showError(form, e.field || "", e.message); // the first one last: in view
  }

  function fields() {
    const values = {};
    for (const name of PERSON_FIELDS) {
      const value = input(name).value.trim();
      // Left out when empty: the server's defaults (no date of birth, no household, no grid: it says so).
      if (value || !OPTIONAL_EMPTY.includes(name)) values[name] = value;
    }
    values.document_number = values.document_number.replace(/\s/g, "").toUpperCase();
    if (!values.household) values.relation = "";
    values.key_groups = [...form.querySelectorAll('input[name="key_groups"]:checked')].map((i) => i.value);
    return values;
  }
  function check(values) {
    if (!values.name) return ["name", t("need_name")];
    if (!values.grid) return ["grid", t("need_grid")];
    if (values.document_kind === "id_card" && values.document_number) {
      const problem = idNumberProblem(values.document_number);
      if (problem) return ["document_number", problem];
    }
    return null;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    out(node, "refused", "").hidden = true;
    const values = fields();
    const problem = check(values);
    if (problem) return showError(form, ...problem);
    let sentKey = refused?.key;
    try {
      if (refused) await queue.retry(refused.key, values, { replace: true });
      else sentKey = (await queue.add({ kind: "register_person", url: PERSONS, fields: values, private: PRIVATE, label: values.name })).key;
    } catch (error) {
      return showError(form, "", error.message || t("server_error"));
    }
    form.reset();
    location.hash = `#/saved/${encodeURIComponent(sentKey)}`;
  });
  return node;
}

// ------------------------------------------------------------------------------------------ after sending

// Where to go on from a record of each kind; the button's words are the template's (data-<kind>).
const NEXT = { inspection: "#/inspections", visit: "#/visits", register_person: "#/register" };

export async function saved(key) {
  const node = screen("t-saved");
  const next = $(node, '[data-act="next"]');
  async function render() {
    const record = await queue.get(key);
    if (!record) return;
    node.dataset.state = record.state;
    node.classList.toggle("failed", record.state === "failed");
    node.classList.toggle("waiting", record.state !== "done" && record.state !== "failed");
    const picture = { done: "i-check", failed: "i-cross" }[record.state] ?? "i-outbox";
    $(node, "svg.big-icon use").setAttribute("href", `#${picture}`);
    next.href = NEXT[record.kind] ?? "#/field";
    next.textContent = next.getAttribute(`data-${record.kind}`) ?? "";
    next.hidden = !next.textContent;
    const result = $(node, '[data-out="result"]');
    result.hidden = true;
    const fix = $(node, '[data-act="fix"]');
    fix.hidden = !fixLink(record);
    fix.href = fixLink(record);
    // Refused: putting it right comes first.
    fix.classList.toggle("primary", !fix.hidden);
    fix.classList.toggle("secondary", fix.hidden);
    next.classList.toggle("primary", fix.hidden);
    next.classList.toggle("secondary", !fix.hidden);
    $(node, '[data-list="errors"]').replaceChildren(...refusals(record).map((text) => h("li", { text })));
    if (record.state === "done") {
      const said = outcome(record);
      out(node, "title", t(`kind_${record.kind}`) + " · " + t("done"));
      out(node, "text", said?.text ?? "");
      if (said?.href) {
        result.href = said.href;
        result.textContent = t("case_n", { number: record.result.case_number });
        result.hidden = false;
      }
    } else if (record.state === "failed" || record.state === "needs_you") {
      out(node, "title", `${t(`kind_${record.kind}`)} · ${t(record.state)}`);
      out(node, "text", refusals(record).length ? "" : record.error);
    } else {
      out(node, "title", navigator.onLine ? t("sending_now") : t("saved_offline"));
      out(node, "text", navigator.onLine ? "" : t("queued_n", { n: await queue.waitingCount() }));
    }
  }
  const stop = queue.onChange(render);
  await render();
  return { node, dispose: stop };
}
