/* Maps of the phone app, with Leaflet loaded only when a map is shown. Like the grid map of the workbench:
   polygons and dots on a plain background, a tile layer only when the site configures one (no internet on
   site). Markers are drawn dots, no images to fetch. */

import { config } from "m/core";

let loading = null;

function load(tag, attrs) {
  return new Promise((resolve, reject) => {
    const el = Object.assign(document.createElement(tag), attrs);
    el.onload = resolve;
    el.onerror = reject;
    document.head.append(el);
  });
}

/** Leaflet, its script and its style both in (a map measured before its style would draw askew). */
export function leaflet() {
  loading ??= Promise.all([
    load("link", { rel: "stylesheet", href: config.leaflet.css }),
    load("script", { src: config.leaflet.js }),
  ]).then(
    () => window.L,
    (error) => {
      loading = null;
      throw error;
    },
  );
  return loading;
}

function base(L, el) {
  const map = L.map(el, { zoomControl: true, attributionControl: Boolean(config.tileUrl), tap: true });
  if (config.tileUrl) L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  return map;
}

function county(L, map) {
  const b = config.bounds;
  if (b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  else map.setView([40.4, 110.0], 9);
}

/** A small map to set a place: tap (or drag the dot) to move it. `onPick({lon, lat})`. */
export async function pickMap(el, point, onPick) {
  const L = await leaflet();
  const map = base(L, el);
  const icon = L.divIcon({ className: "here-pin", iconSize: [22, 22] });
  let marker = null;
  const place = (latlng) => {
    if (marker) marker.setLatLng(latlng);
    else {
      marker = L.marker(latlng, { icon, draggable: true }).addTo(map);
      marker.on("dragend", () => pick(marker.getLatLng()));
    }
  };
  const pick = (latlng) => onPick({ lon: Number(latlng.lng.toFixed(7)), lat: Number(latlng.lat.toFixed(7)) });
  if (point) {
    map.setView([point.lat, point.lon], 17);
    place([point.lat, point.lon]);
  } else county(L, map);
  map.on("click", (e) => {
    place(e.latlng);
    pick(e.latlng);
  });
  return {
    map,
    move(p) {
      place([p.lat, p.lon]);
      map.setView([p.lat, p.lon], Math.max(map.getZoom(), 16));
    },
    remove: () => map.remove(),
  };
}

/** The worker's grid: its polygons, its open cases as coloured dots (a ring on a task). `onCase(number)`. */
export async function gridMap(el, grids, cases, onCase, here = null) {
  const L = await leaflet();
  const map = base(L, el);
  const shapes = L.geoJSON(
    { type: "FeatureCollection", features: grids.filter((g) => g.geometry).map((g) => ({ type: "Feature", geometry: g.geometry, properties: { name: g.name } })) },
    { style: { color: "#0b4fb3", weight: 3, fillColor: "#0b4fb3", fillOpacity: 0.06 } },
  ).addTo(map);
  for (const c of cases) {
    if (c.lon == null || c.lat == null) continue;
    const icon = L.divIcon({ className: `case-pin ${c.colour || ""} ${c.task ? "task" : ""}`, iconSize: [24, 24] });
    L.marker([c.lat, c.lon], { icon, keyboard: true, title: c.number }).addTo(map).on("click", () => onCase(c.number));
  }
  if (here) L.marker([here.lat, here.lon], { icon: L.divIcon({ className: "here-pin", iconSize: [18, 18] }) }).addTo(map);
  const bounds = shapes.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
  else county(L, map);
  return { map, remove: () => map.remove() };
}
