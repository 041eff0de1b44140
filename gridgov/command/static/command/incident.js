/* An emergency's page: the affected grids (and the place, when given) on a map; a submitted form cannot be sent
   twice by a double click. */
(function () {
  "use strict";
  const node = document.getElementById("incident-config");
  const config = node ? JSON.parse(node.textContent) : {};
  const mapNode = document.getElementById("incident-map");
  if (mapNode && window.L) {
    const map = L.map(mapNode, { attributionControl: !!config.tileUrl });
    if (config.tileUrl) L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "", maxZoom: 19 }).addTo(map);
    const layer = L.featureGroup().addTo(map);
    for (const g of config.grids || []) {
      L.geoJSON(g, { style: { color: "#c8102e", weight: 2, fillColor: "#c8102e", fillOpacity: 0.12 } }).addTo(layer);
    }
    if (config.point) L.circleMarker(config.point, { radius: 8, color: "#7a0019", fillColor: "#c8102e", fillOpacity: 1 }).addTo(layer);
    const bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.1));
    else map.setView([40.2, 110.0], 9);
  }
  for (const form of document.querySelectorAll(".cc-form, .cc-inline")) {
    form.addEventListener("submit", () => {
      for (const b of form.querySelectorAll("button[type=submit]")) setTimeout(() => { b.disabled = true; }, 0);
    });
  }
})();
