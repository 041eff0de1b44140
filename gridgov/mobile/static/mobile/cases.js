/* My reports (#/mine) and a case's page (#/case/<number>): its progress as a timeline, photos, messages with
   the handler, and what the person may do now — rate, dispute a closure, comment; for grid workers verify on
   the spot (the closing report back to the centre) or handle it themselves with photos before and after.
   Every action goes through the queue. */

import { $, api, h, isStaff, kept, out, screen, showError, clearErrors, t, when } from "m/core";
import { kv } from "m/db";
import { asFiles, picker } from "m/photo";
import * as queue from "m/queue";

const PAGE = 20;
// Actions the phone offers, and what each must have before it is queued.
const FORMS = {
  verify_pass: { note: "need_note" },
  verify_fail: { reason: "need_reason" },
  self_handle: { note: "need_note", files: "need_photo" },
  evaluate: { rating: "need_rating" },
  dispute: { reason: "need_reason" },
  comment: { note: "need_note" },
};

export function caseRow({ href, title, sub, state, stateClass, colour }) {
  const row = screen("t-case-row");
  const link = $(row, "a");
  link.href = href;
  out(row, "title", title);
  out(row, "sub", sub);
  const chip = out(row, "state", state);
  if (stateClass) chip.classList.add(stateClass);
  const dot = $(row, '[data-out="colour"]');
  if (colour) dot.classList.add(colour);
  else dot.hidden = true;
  return row;
}

function itemName(item) {
  return (typeof item === "string" ? item : item?.name) || t("no_item");
}

export function rowOfCase(c) {
  return caseRow({
    href: `#/case/${encodeURIComponent(c.number)}`,
    title: itemName(c.item),
    sub: `${c.number} · ${when(c.created_at)}`,
    state: c.state_label,
    stateClass: `st-${c.state}`,
    colour: c.colour,
  });
}

export async function mine() {
  const node = screen("t-mine");
  const list = $(node, '[data-list="cases"]');
  const more = $(node, '[data-act="more"]');
  const pending = (await queue.mine()).filter((r) => r.kind === "report" && r.state !== "done");
  for (const r of pending) {
    list.append(caseRow({ href: "#/queue", title: r.label || t("kind_report"), sub: when(r.created_at), state: t(r.state), stateClass: `q-${r.state}` }));
  }
  let page;
  try {
    page = await kept("mine", "/api/cases/", { query: { limit: PAGE } });
  } catch (error) {
    out(node, "status", error.message);
    return node;
  }
  if (page.fresh === false) out(node, "status", t("load_failed"));
  else if (!page.items.length && !pending.length) out(node, "status", t("no_cases"));
  list.append(...page.items.map(rowOfCase));
  let before = page.next_before;
  more.hidden = !page.has_more;
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const next = await api("/api/cases/", { query: { limit: PAGE, before } });
      list.append(...next.items.map(rowOfCase));
      before = next.next_before;
      more.hidden = !next.has_more;
    } catch (error) {
      out(node, "status", error.message);
    } finally {
      more.disabled = false;
    }
  });
  return node;
}

/** What the phone knows of a case of the worker's grid when the case page was never opened with a signal. */
async function fromGrid(number) {
  const grid = await kv.get("grid");
  const c = grid?.cases?.find((x) => x.number === number);
  if (!c) return null;
  const actions = { verify: ["verify_pass", "verify_fail"], self_handle: ["self_handle"] }[c.task] ?? [];
  return {
    ...c,
    description: c.excerpt,
    address: "",
    events: [],
    comments: [],
    evidence: [],
    actions: [...actions, "comment"].map((action) => ({ action })),
    fresh: false,
  };
}

export async function detail(number) {
  const node = screen("t-case");
  let c;
  try {
    c = await api(`/api/cases/${encodeURIComponent(number)}`);
  } catch (error) {
    c = error.status === 0 ? await fromGrid(number) : null;
    if (!c) {
      node.replaceChildren(h("h1", { text: number }), h("p", { class: "err", text: error.message }));
      return node;
    }
  }
  node.dataset.number = c.number;
  node.dataset.state = c.state;
  out(node, "number", c.number);
  const chip = out(node, "state", c.state_label);
  chip.classList.add(`st-${c.state}`);
  out(node, "item", itemName(c.item));
  if (c.rating_label) out(node, "rating", t("rated", { rating: c.rating_label })).hidden = false;
  out(node, "description", c.description);
  out(node, "address", c.fresh === false ? t("load_failed") : c.address);

  const gallery = $(node, '[data-list="photos"]');
  for (const ev of c.evidence ?? []) {
    if (!String(ev.content_type).startsWith("image/")) continue;
    const img = h("img", { src: ev.url, alt: ev.phase_label, loading: "lazy" });
    const li = h("li", {}, h("a", { href: ev.url, target: "_blank", rel: "noopener" }, img));
    img.addEventListener("error", () => li.classList.add("broken")); // not kept for offline
    gallery.append(li);
  }

  const timeline = $(node, '[data-list="events"]');
  for (const ev of c.events ?? []) {
    timeline.append(h("li", { "data-action": ev.action },
      h("strong", { text: ev.action_label }),
      h("time", { datetime: ev.created_at, text: [when(ev.created_at), ev.actor].filter(Boolean).join(" · ") }),
      ev.note ? h("p", { text: ev.note }) : null));
  }

  const comments = $(node, '[data-list="comments"]');
  for (const cm of c.comments ?? []) {
    const mine = isStaff() ? cm.capacity !== "reporter" : cm.capacity === "reporter";
    comments.append(h("li", { class: mine ? "mine" : "" },
      h("span", { class: "who", text: cm.author || cm.capacity_label }),
      h("p", { text: cm.text }),
      h("time", { datetime: cm.created_at, text: when(cm.created_at) })));
  }

  // ---- what may be done now, and what already waits in the queue for this case
  // A reporter may also confirm a handled case (the workflow allows it), but residents rate instead: the checks
  // on the spot and self-handling are the grid worker's.
  const staffOnly = new Set(["verify_pass", "verify_fail", "self_handle"]);
  const allowed = new Set((c.actions ?? []).map((a) => a.action).filter((a) => isStaff() || !staffOnly.has(a)));
  const pendingBox = $(node, '[data-out="pending"]');
  const forms = {};
  for (const action of Object.keys(FORMS)) {
    const form = $(node, `form[data-action="${action}"]`);
    forms[action] = form;
    const wrap = $(node, `[data-action-wrap="${action}"]`);
    const shown = allowed.has(action);
    (wrap ?? form).hidden = !shown;
    if (!shown) continue;
    const photos = [];
    for (const input of form.querySelectorAll("input[data-files]")) {
      const field = input.dataset.files;
      photos.push(picker(input, $(form, `[data-thumbs="${field}"]`), { field, removeLabel: t("remove_photo") }));
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit(action, form, photos.flat());
    });
  }

  async function submit(action, form, photos) {
    clearErrors(form);
    const fields = {};
    for (const name of ["note", "reason"]) if (form[name]) fields[name] = form[name].value.trim();
    const rating = form.querySelector('input[name="rating"]:checked');
    if (rating) fields.rating = rating.value;
    for (const [name, word] of Object.entries(FORMS[action])) {
      const missing = name === "files" ? !photos.some((p) => p.field === "files") : !fields[name];
      if (missing) return showError(form, name, t(word));
    }
    for (const name of Object.keys(fields)) if (!fields[name]) delete fields[name];
    try {
      await queue.add({
        kind: action,
        url: `/api/cases/${encodeURIComponent(c.number)}/actions/${action}`,
        fields,
        files: asFiles(photos),
        label: c.number,
        ref: c.number,
      });
    } catch (error) {
      return showError(form, "", error.message || t("server_error")); // not kept: the form keeps it all
    }
    form.reset();
    for (const list of form.querySelectorAll(".thumbs")) list.replaceChildren();
    photos.length = 0;
    if (action !== "comment") {
      ((form.closest("[data-action-wrap]")) ?? form).hidden = true;
      if (action === "verify_pass" || action === "verify_fail") {
        const other = forms[action === "verify_pass" ? "verify_fail" : "verify_pass"];
        (other.closest("[data-action-wrap]") ?? other).hidden = true;
      }
    }
    renderPending();
  }

  async function renderPending() {
    const waiting = (await queue.mine()).filter((r) => r.ref === c.number && r.state !== "done");
    pendingBox.hidden = !waiting.length;
    pendingBox.replaceChildren(...waiting.map((r) => h("p", { "data-state": r.state }, `${t(`kind_${r.kind}`)} · ${t(r.state)}`, r.error && r.state !== "waiting" ? h("span", { class: "err", text: r.error }) : null)));
  }
  await renderPending();

  // When something of this case was sent, show the case as the server has it now.
  let reloading = false;
  let replaced = null;
  const stop = queue.onChange(async (record) => {
    if (record && record.ref === c.number && record.state === "done" && !reloading && node.isConnected) {
      reloading = true;
      replaced = await detail(c.number);
      if (node.isConnected) node.replaceWith(replaced.node ?? replaced);
      stop();
    } else if (!reloading) renderPending();
  });
  return {
    node,
    dispose: () => {
      stop();
      replaced?.dispose?.();
    },
  };
}
