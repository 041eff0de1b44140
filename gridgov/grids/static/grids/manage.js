/* Grid administration map: the selected grid with its neighbours and the grids below it, the preview of an
   adjustment, and simple drawing tools that write what is drawn, as GeoJSON, into the form's shape box
   (#id_geometry): a polygon (a new grid), a line or parts (a split), dragged corners (a redraw).
   Everything works without the script too: the shape box takes pasted GeoJSON or WKT. The data comes from
   #manage-data and every word from #manage-text, so this file holds no text; names go in as text nodes. */
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("manage-data").textContent);
  const T = JSON.parse(document.getElementById("manage-text").textContent);
  const $ = (id) => document.getElementById(id);
  const input = $("id_geometry");
  const hover = window.matchMedia("(hover: hover)");
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"];

  const map = L.map("manage-map", { zoomSnap: 0.25, zoomDelta: 0.5, minZoom: 4, maxZoom: 19 });
  if (data.tileUrl) L.tileLayer(data.tileUrl, { attribution: data.tileAttribution, maxZoom: 19 }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  const state = { mode: data.draw, active: false, points: [], shapes: [] };

  function text(value) {
    const span = document.createElement("span");
    span.textContent = value; // a text node: Leaflet would set a string as HTML
    return span;
  }

  function status(message) {
    const box = $("map-status");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function go(id) {
    if (state.active) return;
    window.location.href = data.manageUrl + "?grid=" + encodeURIComponent(id);
  }

  function context(collection, style) {
    return L.geoJSON(collection, {
      style: style,
      onEachFeature: (feature, layer) => {
        if (hover.matches) layer.bindTooltip(text(feature.properties.code + " " + feature.properties.name), { sticky: true });
        layer.on("click", (event) => {
          if (state.active) return; // the click adds a point (the map's handler)
          L.DomEvent.stop(event);
          go(feature.id);
        });
      },
    }).addTo(map);
  }

  const siblings = context(data.siblings, (f) =>
    f.properties.neighbour
      ? { color: "#7c8da3", weight: 1.2, fillColor: "#d6dde6", fillOpacity: 0.45, className: "grid-neighbour" }
      : { color: "#a8b3c0", weight: 0.8, fillColor: "#e6eaef", fillOpacity: 0.3, className: "grid-sibling" });
  const selected = data.selected.geometry
    ? L.geoJSON(data.selected, {
        interactive: false,
        style: { color: "#0f2d52", weight: 3, fillColor: "#1f5fbf", fillOpacity: data.preview ? 0.05 : 0.12, className: "grid-selected" },
      }).addTo(map)
    : null;
  let index = 0;
  const children = context(data.children, () => ({
    color: "#334155", weight: 1, fillColor: PALETTE[index++ % PALETTE.length], fillOpacity: 0.28, className: "grid-child",
  }));
  void siblings; void children;

  let previewLayer = null;
  const labels = []; // added once the map has its view
  if (data.preview) {
    let n = 0;
    previewLayer = L.geoJSON(data.preview, {
      interactive: false,
      style: (f) => f.properties.role === "result"
        ? { color: "#b42318", weight: 2.5, dashArray: "6 4", fillColor: PALETTE[n++ % PALETTE.length], fillOpacity: 0.35, className: "grid-result" }
        : { color: "#9a6200", weight: 1.5, fillColor: "#fdf3df", fillOpacity: 0.5, className: "grid-moving" },
      onEachFeature: (feature, layer) => {
        if (feature.properties.role !== "result") return;
        const center = layer.getBounds().getCenter();
        labels.push(
          L.tooltip({ permanent: true, direction: "center", className: "grid-label", interactive: false })
            .setLatLng(center)
            .setContent(text(feature.properties.code + " " + feature.properties.name)),
        );
      },
    }).addTo(map);
  }

  // No animation: the first view is where the grid is, at once (and screenshots never catch a zoom midway).
  const focus = previewLayer || selected;
  const bounds = focus && focus.getBounds().isValid() ? focus.getBounds() : children.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [24, 24], animate: false });
  else map.setView([40.2, 109.85], 8, { animate: false });
  for (const label of labels) label.addTo(map);
  window.addEventListener("resize", () => map.invalidateSize());

  if (!state.mode || !input) return;

  // -- drawing ------------------------------------------------------------------------------------------
  const drawn = L.featureGroup().addTo(map);
  const tools = $("draw-tools");
  tools.hidden = false;
  const style = { color: "#c8102e", weight: 2.5, fillColor: "#c8102e", fillOpacity: 0.15, className: "grid-drawn" };

  const ring = (pts) => { const c = pts.map((p) => [p.lng, p.lat]); c.push(c[0]); return [c]; };
  const line = (pts) => pts.map((p) => [p.lng, p.lat]);

  function write() {
    let geojson = null;
    if (state.mode === "polygon" && state.shapes.length) geojson = { type: "Polygon", coordinates: ring(state.shapes[0]) };
    if (state.mode === "line" && state.shapes.length) geojson = { type: "LineString", coordinates: line(state.shapes[0]) };
    if (state.mode === "parts" && state.shapes.length) {
      geojson = { type: "FeatureCollection", features: state.shapes.map((pts) => ({ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: ring(pts) } })) };
    }
    input.value = geojson ? JSON.stringify(geojson) : "";
    input.dispatchEvent(new Event("change"));
  }

  function redraw() {
    drawn.clearLayers();
    for (const pts of state.shapes) {
      (state.mode === "line" ? L.polyline(pts, style) : L.polygon(pts, style)).addTo(drawn);
    }
    if (state.points.length) {
      L.polyline(state.points, { ...style, dashArray: "4 4" }).addTo(drawn);
      for (const p of state.points) L.circleMarker(p, { radius: 4, color: "#c8102e", fillOpacity: 1 }).addTo(drawn);
    }
  }

  function start() {
    state.active = true;
    state.points = [];
    map.getContainer().classList.add("drawing");
    status(T[state.mode]);
  }

  function finish() {
    const need = state.mode === "line" ? 2 : 3;
    if (state.points.length < need) { status(T.few); return; }
    if (state.mode === "parts") state.shapes.push(state.points);
    else state.shapes = [state.points];
    state.points = [];
    state.active = false;
    map.getContainer().classList.remove("drawing");
    write();
    redraw();
    status(T.drawn);
  }

  map.on("click", (event) => {
    if (!state.active) return;
    state.points.push(event.latlng);
    redraw();
  });
  map.on("dblclick", (event) => { if (state.active) { L.DomEvent.stop(event); finish(); } });

  // Show what the box already holds (after a preview): the drawing stays where it was.
  function shown() {
    try {
      const value = input.value.trim();
      return value.startsWith("{") || value.startsWith("[") ? JSON.parse(value) : null;
    } catch (error) {
      return null;
    }
  }

  if (state.mode === "vertices") {
    vertices();
    return;
  }

  const existing = shown();
  if (existing) {
    try { L.geoJSON(existing, { style, interactive: false }).addTo(drawn); } catch (error) { /* not drawable: the server says why */ }
  }
  const modes = $("draw-modes");
  if (state.mode === "line" && modes) {
    modes.hidden = false;
    if (existing && (existing.type === "FeatureCollection" || existing.type === "Polygon")) setMode("parts");
    for (const button of modes.querySelectorAll("button")) button.addEventListener("click", () => setMode(button.dataset.mode));
  }
  function setMode(mode) {
    state.mode = mode;
    for (const button of modes.querySelectorAll("button")) button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
    state.shapes = [];
    state.points = [];
    if (state.active) status(T[mode]);
    redraw();
  }
  $("draw-start").addEventListener("click", () => { drawn.clearLayers(); start(); });
  $("draw-undo").addEventListener("click", () => { state.points.pop(); redraw(); });
  $("draw-finish").addEventListener("click", finish);
  $("draw-clear").addEventListener("click", () => {
    state.shapes = []; state.points = []; state.active = false;
    map.getContainer().classList.remove("drawing");
    write(); redraw(); status("");
  });

  // -- corners to drag (redraw a boundary) --------------------------------------------------------------
  function vertices() {
    const MAX_CORNERS = 20000;
    const original = shown() || data.selected.geometry;
    if (!original) return;
    // The polygons' rings as [lon, lat] lists without the closing point; only outer rings are edited.
    const polygons = (original.type === "MultiPolygon" ? original.coordinates : [original.coordinates])
      .map((rings) => rings.map((r) => r.slice(0, -1).map((c) => [c[0], c[1]])));
    const total = polygons.reduce((n, rings) => n + rings[0].length, 0);
    const shape = L.polygon([], { ...style, interactive: false }).addTo(drawn);
    const handles = L.featureGroup().addTo(drawn);
    const vertexIcon = L.divIcon({ className: "vertex", iconSize: [14, 14] });
    const middleIcon = L.divIcon({ className: "vertex middle", iconSize: [10, 10] });
    for (const id of ["draw-start", "draw-undo", "draw-finish"]) $(id).hidden = true;

    const latlngs = () => polygons.map((rings) => rings.map((r) => r.map((c) => [c[1], c[0]])));
    function writeBack() {
      const closed = polygons.map((rings) => rings.map((r) => [...r.map((c) => [c[0], c[1]]), [r[0][0], r[0][1]]]));
      const geometry = closed.length === 1 ? { type: "Polygon", coordinates: closed[0] } : { type: "MultiPolygon", coordinates: closed };
      input.value = JSON.stringify(geometry);
      input.dispatchEvent(new Event("change"));
    }
    // Handles at least SPACING pixels apart on screen: a real boundary has hundreds of corners, so zoom in
    // to reach the finer ones (the handles are rebuilt after every zoom or move).
    const SPACING = 18;
    function build() {
      handles.clearLayers();
      shape.setLatLngs(latlngs());
      if (total > MAX_CORNERS) return;
      const view = map.getBounds().pad(0.1);
      polygons.forEach((rings) => {
        const outer = rings[0];
        const screen = outer.map((c) => map.latLngToContainerPoint([c[1], c[0]]));
        let last = null;
        outer.forEach((c, i) => {
          if (!view.contains([c[1], c[0]])) return;
          if (last !== null && screen[i].distanceTo(screen[last]) < SPACING) return;
          last = i;
          const marker = L.marker([c[1], c[0]], { icon: vertexIcon, draggable: true, keyboard: false }).addTo(handles);
          marker.on("drag", (e) => { const p = e.target.getLatLng(); outer[i] = [p.lng, p.lat]; shape.setLatLngs(latlngs()); });
          marker.on("dragend", () => { writeBack(); build(); status(T.drawn); });
          const j = (i + 1) % outer.length;
          if (screen[i].distanceTo(screen[j]) < 3 * SPACING) return; // room for a middle point only on long edges
          const next = outer[j];
          const middle = L.marker([(c[1] + next[1]) / 2, (c[0] + next[0]) / 2], { icon: middleIcon, draggable: true, keyboard: false }).addTo(handles);
          let added = false;
          middle.on("drag", (e) => {
            const p = e.target.getLatLng();
            if (!added) { outer.splice(i + 1, 0, [p.lng, p.lat]); added = true; } else outer[i + 1] = [p.lng, p.lat];
            shape.setLatLngs(latlngs());
          });
          middle.on("dragend", () => { writeBack(); build(); status(T.drawn); });
        });
      });
    }
    map.on("zoomend moveend", () => { if (!dragging) build(); });
    let dragging = false;
    handles.on("dragstart", () => { dragging = true; });
    handles.on("dragend", () => { dragging = false; });
    $("draw-clear").addEventListener("click", () => {
      const fresh = data.selected.geometry;
      const rings = (fresh.type === "MultiPolygon" ? fresh.coordinates : [fresh.coordinates])
        .map((rs) => rs.map((r) => r.slice(0, -1).map((c) => [c[0], c[1]])));
      polygons.splice(0, polygons.length, ...rings);
      writeBack();
      build();
      status("");
    });
    build();
    status(T.vertices);
  }
})();
