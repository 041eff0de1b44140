/* Report a problem, on one screen: photos, the place (the phone's location or a pin on the map), what it is
   (a module's picture, then an item; or "I don't know"), a description; for residents the number for updates
   and the privacy consent. Before sending: "already reported nearby?" with "me too". Sending goes through the
   queue, with or without a signal. Grid workers use the same screen for quick reports (channel worker_app). */

import { $, api, candidateCard, clearErrors, config, h, icon, isStaff, kept, out, screen, session, showError, t } from "m/core";
import { asFiles, picker } from "m/photo";
import { pickMap } from "m/map";
import * as queue from "m/queue";

const LOCATE = { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 };
const NEARBY_TIMEOUT_MS = 6000;

export function locate() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) return reject(new Error("unsupported"));
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lon: Number(p.coords.longitude.toFixed(7)), lat: Number(p.coords.latitude.toFixed(7)), accuracy: p.coords.accuracy }),
      reject,
      LOCATE,
    );
  });
}

export async function report() {
  const node = screen("t-report");
  const form = $(node, "form");
  const staff = isStaff();
  const state = { point: null, source: "", item: null, module: null, unknown: false, map: null };
  const photos = picker($(form, 'input[name="photo"]'), $(form, '[data-list="photos"]'), {
    max: config.maxPhotos,
    removeLabel: t("remove_photo"),
    onError: (key, values) => showError(form, "files", t(key, values)),
  });

  // ---- where
  const where = $(form, '[data-out="where"]');
  const setWhere = (text, ok) => {
    where.textContent = text;
    where.className = `where ${ok ? "ok" : "bad"}`;
  };
  async function findMe() {
    setWhere(t("locating"), true);
    try {
      const p = await locate();
      state.point = p;
      state.source = "gps";
      setWhere(t("located", { m: Math.round(p.accuracy) }), true);
      state.map?.move(p);
    } catch (error) {
      if (state.source) return; // already set on the map
      setWhere(error?.code === 1 ? t("location_denied") : t("no_location"), false);
      openMap();
    }
  }
  async function openMap() {
    const box = $(form, "[data-map]");
    if (!box.hidden) return;
    box.hidden = false;
    $(form, "[data-map-hint]").hidden = false;
    state.map = await pickMap(box, state.point, (p) => {
      state.point = { ...p, accuracy: 0 };
      state.source = "pin";
      setWhere(t("pinned"), true);
    });
  }
  $(form, '[data-act="locate"]').addEventListener("click", findMe);
  $(form, '[data-act="pin"]').addEventListener("click", openMap);

  // ---- what
  const modulesBox = $(form, '[data-list="modules"]');
  const itemsBox = $(form, '[data-list="items"]');
  const chosen = $(form, '[data-out="item"]');
  const picture = (code) => (config.modulePictures.includes(code) ? `m-${code}` : "m-other");
  function showChosen(label, code) {
    chosen.replaceChildren(icon(picture(code)), h("span", { text: label }), h("button", {
      type: "button", class: "btn link", text: t("change"), onclick: () => {
        state.item = null;
        state.unknown = false;
        chosen.hidden = true;
        modulesBox.hidden = false;
      },
    }));
    chosen.hidden = false;
    modulesBox.hidden = true;
    itemsBox.hidden = true;
  }
  function showItems(module) {
    state.module = module;
    itemsBox.replaceChildren(
      h("button", { type: "button", class: "back", text: `‹ ${module.name}`, onclick: () => {
        itemsBox.hidden = true;
        modulesBox.hidden = false;
      } }),
      ...module.items.map((item) => h("button", { type: "button", "data-item": item.code, text: item.name, onclick: () => {
        state.item = item;
        state.unknown = false;
        showChosen(item.name, module.code);
      } })),
    );
    modulesBox.hidden = true;
    itemsBox.hidden = false;
    itemsBox.scrollIntoView({ block: "start" });
  }
  function renderModules(catalog) {
    modulesBox.replaceChildren(
      ...catalog.modules.map((m) => h("button", { type: "button", class: "tile", "data-module": m.code, onclick: () => showItems(m) }, icon(picture(m.code)), h("span", { text: m.name }))),
      h("button", { type: "button", class: "tile unknown", "data-module": "", onclick: () => {
        state.item = null;
        state.unknown = true;
        showChosen(t("no_item"), "");
        form.description.focus();
      } }, icon("m-other"), h("span", { text: t("no_item") })),
    );
  }
  kept("catalog", "/api/mobile/catalog").then(renderModules).catch(() => renderModules({ modules: [] }));

  // ---- who hears of it
  const me = session.me;
  if (!staff) {
    const phoneField = $(form, "[data-phone]");
    if (me?.phone) out(form, "updates", t("updates_to", { phone: me.phone }));
    phoneField.hidden = Boolean(me?.phone);
  }

  // ---- send
  function fields(force) {
    const out = {
      channel: staff ? "worker_app" : "resident_app",
      description: form.description.value.trim(),
      lon: state.point.lon,
      lat: state.point.lat,
      crs: "wgs84",
      address: form.address.value.trim(),
    };
    if (state.item) out.item = state.item.code;
    if (!staff && !me?.phone) out.reporter_phone = form.reporter_phone.value.trim();
    if (force) out.force = "true";
    return out;
  }
  /** Queue the report; answers whether it is kept (if not, the form keeps everything and says why). */
  async function send(force) {
    let record;
    try {
      record = await queue.add({
        kind: "report",
        url: "/api/cases/",
        fields: fields(force),
        files: asFiles(photos),
        label: form.description.value.trim().slice(0, 40),
      });
    } catch (error) {
      showError(form, "", error.message || t("server_error"));
      return false;
    }
    location.hash = `#/sent/${record.key}`;
    return true;
  }
  function check() {
    clearErrors(form);
    if (!state.point) return ["location", t("need_location")];
    if (!form.description.value.trim()) return ["description", t("need_description")];
    if (!staff && !me?.phone && !/^1\d{10}$/.test(form.reporter_phone.value.trim())) return ["reporter_phone", t("need_phone")];
    if (!staff && !form.consent.checked) return ["consent", t("need_consent")];
    return null;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problem = check();
    if (problem) return showError(form, ...problem);
    const button = $(form, "button.primary");
    button.disabled = true;
    try {
      const candidates = await nearby();
      if (candidates.length) return showNearby(candidates);
      await send(false);
    } finally {
      button.disabled = false;
    }
  });

  async function nearby() {
    // Without an item there is nothing to compare with (the duplicate rule is per item).
    if (!navigator.onLine || !state.item) return [];
    try {
      const answer = await api("/api/mobile/nearby", {
        query: { lon: state.point.lon, lat: state.point.lat, crs: "wgs84", item: state.item?.code },
        timeout: NEARBY_TIMEOUT_MS,
      });
      return answer.candidates ?? [];
    } catch {
      return []; // no answer in time: the server still says "already reported" when it sees one
    }
  }

  function showNearby(candidates) {
    const page = screen("t-nearby");
    const list = $(page, '[data-list="candidates"]');
    for (const c of candidates) {
      list.append(candidateCard(c, async () => {
        let record;
        try {
          record = await queue.add({
            kind: "me_too",
            url: `/api/cases/${encodeURIComponent(c.number)}/me-too`,
            fields: { token: c.me_too_token },
            label: c.number,
            ref: c.number,
          });
        } catch (error) {
          back();
          showError(form, "", error.message || t("server_error"));
          return;
        }
        location.hash = `#/sent/${record.key}`;
      }));
    }
    const back = () => page.isConnected && page.replaceWith(node);
    $(page, '[data-act="different"]').addEventListener("click", async () => {
      if (!(await send(true))) back(); // not kept: back to the form, which says why
    });
    $(page, '[data-act="back"]').addEventListener("click", back);
    node.replaceWith(page);
    window.scrollTo(0, 0);
  }

  return {
    node,
    mounted: findMe,
    dispose: () => {
      state.map?.remove();
      for (const p of photos) URL.revokeObjectURL(p.url);
    },
  };
}

/** After sending: the case number as soon as the server has it, or "saved on this phone". */
export async function sent(key) {
  const node = screen("t-sent");
  async function render() {
    const record = await queue.get(key);
    if (!record) return;
    const number = record.result?.summary?.number ?? record.result?.number;
    node.dataset.state = record.state;
    const link = $(node, '[data-out="case-link"]');
    link.hidden = !(record.state === "done" && number);
    if (number) link.href = `#/case/${encodeURIComponent(number)}`;
    if (record.state === "done" && record.kind === "me_too") {
      out(node, "title", t("case_n", { number }));
      out(node, "text", t("joined"));
    } else if (record.state === "done") {
      out(node, "title", t("received_as", { number }));
      out(node, "text", "");
    } else if (record.state === "needs_you" || record.state === "failed") {
      out(node, "title", t(record.state));
      out(node, "text", record.error);
    } else {
      out(node, "title", navigator.onLine ? t("sending_now") : t("saved_offline"));
      out(node, "text", navigator.onLine ? "" : t("queued_n", { n: await queue.waitingCount() }));
    }
  }
  const stop = queue.onChange(render);
  await render();
  return { node, dispose: stop };
}
