/* The case page: open an action's form without a reload, tick the deadline's countdown, draw the point and
   its grid on a map (polygons on a plain background; tiles only when configured), enlarge a photo.
   Every word comes translated from the server (#case-config); text is set with textContent only. */
(function () {
  "use strict";

  const configNode = document.getElementById("case-config");
  const config = configNode ? JSON.parse(configNode.textContent) : { text: {} };
  const T = config.text || {};

  // -- action forms: one open at a time ---------------------------------------------------------------
  const toggles = Array.from(document.querySelectorAll(".act-toggle"));

  function show(action, focus) {
    for (const button of toggles) {
      const panel = document.getElementById("act-" + button.dataset.action);
      const open = button.dataset.action === action;
      if (panel) panel.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.classList.toggle("active", open);
    }
    if (!action) return;
    const panel = document.getElementById("act-" + action);
    if (focus && panel) {
      const first = panel.querySelector("input:not([type=hidden]), select, textarea, button");
      if (first) first.focus();
    }
  }

  for (const button of toggles) {
    button.addEventListener("click", (event) => {
      event.preventDefault();
      const open = button.getAttribute("aria-expanded") === "true";
      show(open ? "" : button.dataset.action, !open);
      if (open) button.focus();
    });
    button.addEventListener("keydown", (event) => {
      if (event.key === " ") { event.preventDefault(); button.click(); } // a link acting as a button
    });
  }
  for (const cancel of document.querySelectorAll(".act-cancel")) {
    cancel.addEventListener("click", (event) => {
      event.preventDefault();
      show("", false);
      const button = document.getElementById("act-button-" + cancel.dataset.action);
      if (button) button.focus();
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = toggles.find((b) => b.getAttribute("aria-expanded") === "true");
    if (open && !document.querySelector("dialog[open]")) {
      show("", false);
      open.focus();
    }
  });
  // A form that failed comes back open: bring it into view.
  const opened = document.querySelector(".act-panel:not([hidden])");
  if (opened) {
    const bad = opened.querySelector("[aria-invalid=true]") || opened.querySelector("[autofocus]");
    opened.scrollIntoView({ block: "nearest" });
    if (bad && typeof bad.focus === "function") bad.focus();
  }
  // A submitted form cannot be sent twice by a double click.
  for (const form of document.querySelectorAll(".act-form, .reply-form")) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (button) setTimeout(() => { button.disabled = true; }, 0);
    });
  }

  // -- the countdown --------------------------------------------------------------------------------------
  function fill(template, values) {
    return template.replace(/%\((\w+)\)[ds]/g, (_, key) => String(values[key]));
  }

  function span(minutes) {
    const d = Math.floor(minutes / 1440);
    const h = Math.floor((minutes % 1440) / 60);
    const m = minutes % 60;
    if (d) return fill(T.dh, { d, h });
    if (h) return m ? fill(T.hm, { h, m }) : fill(T.h, { h });
    return fill(T.m, { m });
  }

  const clocks = Array.from(document.querySelectorAll("[data-due]"));
  function tick() {
    const now = Date.now();
    for (const node of clocks) {
      const due = Date.parse(node.dataset.due);
      if (Number.isNaN(due)) continue;
      const seconds = (due - now) / 1000;
      const minutes = Math.floor(Math.abs(seconds) / 60);
      node.textContent = fill(seconds >= 0 ? T.left : T.overdue, { time: span(minutes) });
      if (seconds < 0) {
        const clock = node.closest(".clock");
        if (clock && !clock.classList.contains("red")) {
          clock.classList.remove("green", "yellow");
          clock.classList.add("red");
          const dot = clock.querySelector(".dot");
          if (dot) dot.className = "dot red";
        }
      }
    }
  }
  if (clocks.length && T.left) setInterval(tick, 30000);

  // -- the map --------------------------------------------------------------------------------------------
  function drawMap() {
    const where = config.map;
    const box = document.getElementById("case-map");
    if (!where || !box || typeof L === "undefined") return;
    const map = L.map(box, { zoomSnap: 0.25, scrollWheelZoom: false, attributionControl: !!where.tileUrl });
    if (where.tileUrl) {
      L.tileLayer(where.tileUrl, { attribution: where.tileAttribution, maxZoom: 19 }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    const layers = L.featureGroup().addTo(map);
    if (where.grid) {
      L.geoJSON(where.grid, {
        style: () => ({ color: "#1f5fbf", weight: 2, fillColor: "#1f5fbf", fillOpacity: 0.12, className: "case-grid" }),
        interactive: false,
      }).addTo(layers);
    }
    if (where.lat !== null && where.lon !== null && where.lat !== undefined) {
      const point = L.circleMarker([where.lat, where.lon], {
        radius: 8, color: "#fff", weight: 2, fillColor: "#c8102e", fillOpacity: 1, className: "case-point",
      }).addTo(layers);
      const tip = document.createElement("span");
      tip.textContent = T.point || "";
      point.bindTooltip(tip);
    }
    const bounds = layers.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
    }
    window.caseMap = map;
  }
  if (document.readyState === "complete") drawMap();
  else window.addEventListener("load", drawMap);

  // -- photos: click to enlarge ---------------------------------------------------------------------------
  const dialog = document.getElementById("lightbox");
  const big = document.getElementById("lightbox-img");
  if (dialog && big && typeof dialog.showModal === "function") {
    for (const link of document.querySelectorAll("a.thumb")) {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        const img = link.querySelector("img");
        big.src = link.href;
        big.alt = img ? img.alt : "";
        dialog.showModal();
      });
    }
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    dialog.addEventListener("close", () => { big.removeAttribute("src"); });
  }
})();
