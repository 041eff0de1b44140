/* The operators' desk: the item search's keyboard selection (htmx brings the suggestions) and the map
   picker of the intake form (Leaflet without tiles: the centre's grids drawn as polygons; a click sets the
   point and asks the server which grid it falls in). Every word comes from the server: the page's
   #desk-map-config and the rendered suggestions. Text is inserted with textContent only. */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);

  // -- item search -----------------------------------------------------------------------------------
  const q = $("item-q");
  const hits = $("item-hits");
  const hidden = $("id_item");

  function options() {
    return hits ? Array.from(hits.querySelectorAll("li.pick")) : [];
  }

  function mark(index) {
    const list = options();
    list.forEach((li, i) => li.setAttribute("aria-selected", i === index ? "true" : "false"));
    if (list[index]) {
      q.setAttribute("aria-activedescendant", list[index].id);
      list[index].scrollIntoView({ block: "nearest" });
    } else {
      q.removeAttribute("aria-activedescendant");
    }
  }

  function current() {
    return options().findIndex((li) => li.getAttribute("aria-selected") === "true");
  }

  function closeList() {
    if (!hits) return;
    hits.replaceChildren();
    q.setAttribute("aria-expanded", "false");
    q.removeAttribute("aria-activedescendant");
  }

  function pick(code, label) {
    hidden.value = code;
    $("item-chosen-code").textContent = code;
    $("item-chosen-name").textContent = label;
    $("item-chosen").hidden = false;
    $("item-combo").hidden = true;
    q.value = "";
    closeList();
    $("item-clear").focus();
  }

  if (q && hits) {
    q.addEventListener("keydown", (event) => {
      const list = options();
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!list.length) return;
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        mark((current() + step + list.length) % list.length);
      } else if (event.key === "Enter") {
        // Enter chooses the marked item; it never submits the report from here.
        event.preventDefault();
        const li = list[current()] || list[0];
        if (li) pick(li.dataset.code, li.dataset.label);
      } else if (event.key === "Escape") {
        closeList();
      }
    });
    document.body.addEventListener("htmx:afterSwap", (event) => {
      if (event.target === hits) {
        q.setAttribute("aria-expanded", options().length ? "true" : "false");
        if (options().length) mark(0);
      }
    });
    document.addEventListener("click", (event) => {
      const target = event.target.closest(".pick");
      if (target && target.dataset.code) {
        event.preventDefault();
        pick(target.dataset.code, target.dataset.label);
      } else if (!event.target.closest("#item-combo")) {
        closeList();
      }
    });
    $("item-clear").addEventListener("click", () => {
      hidden.value = "";
      $("item-chosen").hidden = true;
      $("item-combo").hidden = false;
      q.focus();
    });
  }

  // -- map picker ----------------------------------------------------------------------------------
  const mapBox = $("picker-map");
  const configNode = $("desk-map-config");
  if (!mapBox || !configNode || typeof L === "undefined") return;
  const config = JSON.parse(configNode.textContent);
  const T = config.text;
  const lonInput = $("id_lon");
  const latInput = $("id_lat");
  const status = $("picker-status");
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6"];

  const map = L.map(mapBox, { zoomSnap: 0.25, zoomDelta: 0.5, minZoom: 5, maxZoom: 19 });
  if (config.tileUrl) L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  if (config.bbox) {
    map.fitBounds([[config.bbox[1], config.bbox[0]], [config.bbox[3], config.bbox[2]]], { padding: [12, 12] });
  } else {
    map.setView([40.2, 109.85], 8);
  }
  let marker = null;
  let asked = 0;

  function say(text, kind) {
    status.textContent = text;
    status.className = "picker-status" + (kind ? " " + kind : "");
  }

  function textNode(text) {
    const span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  async function drawGrids() {
    let index = 0;
    for (const id of config.roots) {
      const response = await fetch(config.api + id + "/children.geojson?zoom=" + Math.round(map.getZoom()), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error(String(response.status));
      const collection = await response.json();
      L.geoJSON(collection, {
        interactive: false,
        style: () => ({ color: "#334155", weight: 1.2, fillColor: PALETTE[index++ % PALETTE.length], fillOpacity: 0.22 }),
        onEachFeature: (feature, layer) => {
          const point = feature.properties.label;
          if (point) {
            L.tooltip({ permanent: true, direction: "center", className: "grid-label", interactive: false })
              .setLatLng([point[1], point[0]])
              .setContent(textNode(feature.properties.name))
              .addTo(map);
          }
        },
      }).addTo(map).bringToBack();
    }
  }

  async function locate(lat, lon) {
    const seq = ++asked;
    const url = config.locate + "?lon=" + encodeURIComponent(lon) + "&lat=" + encodeURIComponent(lat);
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const answer = await response.json();
      if (seq !== asked) return; // a later click answered first
      say(answer.message, answer.inside && answer.mine ? "ok" : "warn");
    } catch (error) {
      if (seq === asked) say(T.failed, "warn");
    }
  }

  function place(lat, lon, fromInputs) {
    if (marker) marker.setLatLng([lat, lon]);
    else marker = L.circleMarker([lat, lon], { radius: 8, color: "#c8102e", weight: 3, fillColor: "#fff", fillOpacity: 1 }).addTo(map);
    marker.bringToFront();
    if (!fromInputs) {
      lonInput.value = lon.toFixed(6);
      latInput.value = lat.toFixed(6);
    }
    locate(lat, lon);
  }

  map.on("click", (event) => place(event.latlng.lat, event.latlng.lng, false));

  function fromInputs() {
    const lon = parseFloat(lonInput.value);
    const lat = parseFloat(latInput.value);
    if (Number.isFinite(lon) && Number.isFinite(lat)) {
      place(lat, lon, true);
      return true;
    }
    if (marker && !lonInput.value && !latInput.value) {
      marker.remove();
      marker = null;
      say(T.cleared, "");
    }
    return false;
  }
  lonInput.addEventListener("change", fromInputs);
  latInput.addEventListener("change", fromInputs);

  drawGrids().catch(() => say(T.failed, "warn"));
  fromInputs();
})();
