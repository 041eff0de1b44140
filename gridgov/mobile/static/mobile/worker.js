/* The grid worker's side: my grid on a map with its open cases and tasks (#/grid), the task list (#/tasks),
   and patrols (#/patrol): check in, a GPS track recorded while the patrol lasts (batched into the queue every
   30 s or 20 points), check out. Everything sent goes through the queue, so a round without a signal is
   kept and goes up later; the moment of each check-in and check-out is the phone's (`at`). */

import { $, h, kept, number, out, screen, session, t, when } from "m/core";
import { kv, result, transact } from "m/db";
import { gridMap } from "m/map";
import * as queue from "m/queue";
import { caseRow } from "m/cases";
import { locate } from "m/report";

const PREFETCH = 20;
const FLUSH_MS = 30_000;
const FLUSH_POINTS = 20;
const WORST_ACCURACY_M = 200;

function taskRow(c) {
  const sub = [c.task ? t(`task_${c.task}`) : "", c.excerpt, c.due_at ? t("due", { at: when(c.due_at) }) : ""];
  return caseRow({
    href: `#/case/${encodeURIComponent(c.number)}`,
    title: `${c.item || t("no_item")} · ${c.number}`,
    sub: sub.filter(Boolean).join(" · "),
    state: c.state_label,
    stateClass: `st-${c.state}`,
    colour: c.colour,
  });
}

async function myGrid(node) {
  try {
    const data = await kept("grid", "/api/mobile/grid");
    if (data.fresh === false) out(node, "status", t("load_failed"));
    else warm(data.cases.filter((c) => c.task));
    return data;
  } catch (error) {
    out(node, "status", error.message);
    return { grids: [], cases: [] };
  }
}

/** Read the pages of the cases waiting for this worker while there is a signal, so that the service worker
    has them when the worker stands in front of the problem without one. */
function warm(cases) {
  const get = (url, accept) => fetch(url, { credentials: "same-origin", headers: { Accept: accept } });
  for (const c of cases.slice(0, PREFETCH)) {
    get(`/api/cases/${encodeURIComponent(c.number)}`, "application/json")
      .then((r) => (r.ok ? r.json() : null))
      .then((detail) => {
        // The photos of a case to check on the spot: the worker compares them with what is there.
        if (c.task !== "verify" || !detail) return;
        for (const ev of detail.evidence ?? []) if (String(ev.content_type).startsWith("image/")) get(ev.url, "image/*").catch(() => {});
      })
      .catch(() => {});
  }
}

export async function grid() {
  const node = screen("t-grid");
  const data = await myGrid(node);
  const tasks = data.cases.filter((c) => c.task);
  $(node, '[data-list="tasks"]').append(...tasks.map(taskRow));
  if (!tasks.length) $(node, '[data-list="tasks"]').append(h("li", { class: "hint", text: t("no_tasks") }));
  let map = null;
  return {
    node,
    mounted: async () => {
      map = await gridMap($(node, "[data-map]"), data.grids, data.cases, (n) => {
        location.hash = `#/case/${encodeURIComponent(n)}`;
      }, active?.last ? { lon: active.last[0], lat: active.last[1] } : null);
    },
    dispose: () => map?.remove(),
  };
}

export async function tasks() {
  const node = screen("t-tasks");
  const data = await myGrid(node);
  const mine = data.cases.filter((c) => c.task);
  $(node, '[data-list="tasks"]').append(...mine.map(taskRow));
  if (!mine.length) $(node, '[data-list="tasks"]').append(h("li", { class: "hint", text: t("no_tasks") }));
  const others = data.cases.filter((c) => !c.task);
  $(node, '[data-list="others"]').append(...others.map(taskRow));
  $(node, '[data-out="others-title"]').hidden = !others.length;
  return node;
}

// ------------------------------------------------------------------------------------------ patrols

// The patrol in progress, kept on the phone ("patrol") so that closing the app does not end it; it is its
// owner's, recorded only while they are the person of the phone:
// {key, owner, start (the queue key of its check-in), started_at, distance_m, count, last, buffer, flushed_at}
let active = null;
let watchId = null;
let flushTimer = 0;
const patrolListeners = new Set();

function notify() {
  for (const listener of patrolListeners) listener();
}

/** Keep the patrol's progress — only while the phone still has it: another tab may have ended it (somebody
    signed out or in there), and this tab then stops recording. */
async function save() {
  const patrol = active;
  if (!patrol) return;
  const ours = await transact("kv", "readwrite", async (s) => {
    const kept = await result(s.get("patrol"));
    if (kept?.key !== patrol.key) return false;
    s.put(patrol, "patrol");
    return true;
  });
  if (!ours && active === patrol) halt();
}

/** Who is the person of the phone now (on start, after signing in, after another tab changed it): their
    patrol in progress goes on recording; anybody else's, or one ended meanwhile, is not recorded here. */
export async function follow(me) {
  const kept = (await kv.get("patrol")) ?? null;
  if (active && (kept?.key !== active.key || (me && active.owner !== me.id))) halt();
  if (!active && me && kept && (kept.owner ?? me.id) === me.id) {
    active = { ...kept, owner: me.id };
    watch();
    notify();
  }
}

/** Stop recording here (nothing kept or sent). */
export function halt() {
  unwatch();
  active = null;
  notify();
}

/** Signing out, or somebody else signing in: the patrol on this phone ends now — its last points and the
    check-out queued as its owner's, sent in their session. */
export async function signOff() {
  if (!active) active = (await kv.get("patrol")) ?? null;
  if (active) await endPatrol();
  halt();
}

function metres([lon1, lat1], [lon2, lat2]) {
  const rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(a));
}

function watch() {
  if (watchId !== null || !navigator.geolocation) return;
  watchId = navigator.geolocation.watchPosition(onPosition, onGpsError, { enableHighAccuracy: true, maximumAge: 5000, timeout: 60000 });
  flushTimer = setInterval(() => flush(), FLUSH_MS);
}

function unwatch() {
  if (watchId !== null) navigator.geolocation.clearWatch(watchId);
  watchId = null;
  clearInterval(flushTimer);
}

let gpsProblem = "";
function onGpsError(error) {
  gpsProblem = error.code === 1 ? t("location_denied") : t("no_location");
  notify();
}

async function onPosition(position) {
  if (!active) return;
  const { longitude, latitude, accuracy } = position.coords;
  gpsProblem = "";
  if (accuracy > WORST_ACCURACY_M) return notify();
  const point = [Number(longitude.toFixed(7)), Number(latitude.toFixed(7)), Math.round(position.timestamp), Math.round(accuracy)];
  if (active.last && point[2] <= active.last[2]) return;
  if (active.last) active.distance_m += metres(active.last, point);
  active.last = point;
  active.count += 1;
  active.buffer.push(point);
  try {
    if (!(active.buffer.length >= FLUSH_POINTS && (await flush()))) await save();
  } catch {
    // The phone's storage is full (the banner says so): the points stay in memory until there is room.
  }
  notify();
}

let flushing = null;

/** The points recorded since the last batch go into the queue as one track record — in the same transaction
    as the patrol's progress, so that the app killed in between neither loses nor repeats them. Answers
    whether they are kept (not when the phone's storage is full: they stay in the buffer). */
function flush() {
  flushing ??= flushNow().finally(() => {
    flushing = null;
  });
  return flushing;
}

async function flushNow() {
  const patrol = active;
  if (!patrol || !patrol.buffer.length) return true;
  const points = patrol.buffer.slice();
  const flushedAt = Date.now();
  try {
    await queue.add(
      {
        kind: "patrol_track",
        url: `/api/fieldwork/patrols/${patrol.key}/track`,
        fields: { points: JSON.stringify(points) },
        label: t("points_n", { n: points.length }),
        ref: patrol.key,
        after: patrol.start,
      },
      { kv: { patrol: { ...patrol, buffer: [], flushed_at: flushedAt } }, as: patrol.owner },
    );
  } catch {
    return false;
  }
  patrol.buffer.splice(0, points.length); // points recorded meanwhile go with the next batch
  patrol.flushed_at = flushedAt;
  return true;
}

async function startPatrol() {
  const here = await locate().catch(() => null);
  const now = new Date().toISOString();
  const start = queue.uuid();
  const patrol = {
    key: queue.uuid(), owner: session.me?.id ?? null, start, started_at: now,
    distance_m: 0, count: 0, last: null, buffer: [], flushed_at: Date.now(),
  };
  const fields = { key: patrol.key, at: now };
  if (here) Object.assign(fields, { lon: here.lon, lat: here.lat });
  try {
    await queue.add(
      { key: start, kind: "patrol_start", url: "/api/fieldwork/patrols", fields, label: when(now), ref: patrol.key },
      { kv: { patrol } },
    );
  } catch {
    return; // no room on the phone (the banner says so): not started
  }
  active = patrol;
  watch();
  notify();
}

async function endPatrol() {
  const patrol = active;
  if (!patrol) return;
  if (!(await flush())) return; // the last points could not be kept: the patrol goes on
  const now = new Date().toISOString();
  const fields = { at: now };
  if (patrol.last) Object.assign(fields, { lon: patrol.last[0], lat: patrol.last[1] });
  try {
    await queue.add(
      { kind: "patrol_end", url: `/api/fieldwork/patrols/${patrol.key}/end`, fields, label: when(now), ref: patrol.key, after: patrol.start },
      { kv: { patrol: undefined }, as: patrol.owner },
    );
  } catch {
    return;
  }
  if (active === patrol) active = null;
  unwatch();
  notify();
}

function duration(seconds) {
  return t("minutes", { min: Math.max(0, Math.round(seconds / 60)) });
}

export async function patrol() {
  const node = screen("t-patrol");
  const on = $(node, '[data-show="on"]');
  const off = $(node, '[data-show="off"]');
  const render = () => {
    on.hidden = !active;
    off.hidden = Boolean(active);
    if (!active) return;
    out(node, "since", t("on_patrol_since", { at: when(active.started_at) }));
    out(node, "time", duration((Date.now() - Date.parse(active.started_at)) / 1000));
    out(node, "distance", t("km", { km: number(active.distance_m / 1000, 2) }));
    out(node, "points", t("points_n", { n: active.count }));
    out(node, "gps", gpsProblem);
  };
  const busy = (button, work) => async () => {
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
      render();
      list();
    }
  };
  const startButton = $(node, '[data-act="start"]');
  const endButton = $(node, '[data-act="end"]');
  startButton.addEventListener("click", busy(startButton, startPatrol));
  endButton.addEventListener("click", busy(endButton, endPatrol));
  patrolListeners.add(render);
  const clock = setInterval(render, 15_000);
  render();

  const ul = $(node, '[data-list="patrols"]');
  async function list() {
    let page;
    try {
      page = await kept("patrols", "/api/fieldwork/patrols");
    } catch {
      return;
    }
    ul.replaceChildren(...(page.items ?? []).map((p) => h("li", { "data-key": p.key },
      h("strong", { text: `${when(p.started_at)} · ${p.grid.name}` }),
      h("br"),
      h("span", { class: "meta", text: [p.ended_at ? duration(p.duration_s ?? 0) : t("on_patrol_since", { at: when(p.started_at) }), t("km", { km: number(p.distance_m / 1000, 2) }), t("points_n", { n: p.points })].join(" · ") }))));
  }
  list();
  const stop = queue.onChange((record) => {
    if (record?.state === "done" && record.kind.startsWith("patrol_")) list();
  });
  return {
    node,
    dispose: () => {
      patrolListeners.delete(render);
      clearInterval(clock);
      stop();
    },
  };
}
