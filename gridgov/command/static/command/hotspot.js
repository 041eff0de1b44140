/* A hotspot's page: its cases on a map coloured by age (polygons and points on a plain background; tiles only
   when configured) and a chart of the cases per week. Words come translated from the server (#hotspot-config). */
(function () {
  "use strict";
  const node = document.getElementById("hotspot-config");
  if (!node) return;
  const config = JSON.parse(node.textContent);
  const T = config.text || {};

  const mapNode = document.getElementById("hotspot-map");
  if (mapNode && window.L) {
    const map = L.map(mapNode, { zoomControl: true, attributionControl: !!config.tileUrl, maxZoom: 19 });
    if (config.tileUrl) L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "", maxZoom: 19 }).addTo(map);
    const centre = L.latLng(config.centre[0], config.centre[1]);
    const radius = Math.max(config.radius, 20);
    // A view first: layers are drawn once the map has one.
    map.setView(centre, Math.min(19, map.getBoundsZoom(centre.toBounds(radius * 2).pad(0.3))));
    L.circle(centre, { radius: radius, color: "#c8102e", weight: 2, fillOpacity: 0.06 }).addTo(map);
    // Oldest first, so the latest cases lie on top.
    const points = config.points.slice().reverse();
    for (const p of points) {
      const colour = config.bands[p.band].colour;
      L.circleMarker([p.lat, p.lon], { radius: 6, color: "#fff", weight: 1, fillColor: colour, fillOpacity: 0.9 })
        .bindTooltip(p.number + " · " + p.at)
        .addTo(map);
    }
  }

  const chartNode = document.getElementById("hotspot-chart");
  if (chartNode && window.echarts) {
    const chart = echarts.init(chartNode, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 40, right: 16, top: 24, bottom: 40 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: config.weeks, name: T.week, nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", name: T.cases, data: config.counts, itemStyle: { color: "#c8102e" } }],
    });
    window.addEventListener("resize", () => chart.resize());
  }
})();
