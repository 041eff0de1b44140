// The camera list's map: a dot per camera (green online, grey otherwise), a click opens the camera.
(function () {
  "use strict";
  var node = document.getElementById("camera-map-data");
  var box = document.getElementById("camera-map");
  if (!node || !box || !window.L) return;
  var data = JSON.parse(node.textContent);
  var map = window.L.map(box, { attributionControl: false, zoomSnap: 0.25 });
  if (data.tileUrl) window.L.tileLayer(data.tileUrl, { maxZoom: 19 }).addTo(map);
  var points = [];
  data.points.forEach(function (p) {
    var colour = p.status === "online" ? "#1a7f37" : "#8c959f";
    var dot = window.L.circleMarker([p.lat, p.lon], { radius: 6, color: colour, fillColor: colour, fillOpacity: 0.8 });
    dot.bindTooltip(p.name + " · " + p.code);
    dot.on("click", function () {
      window.location.href = data.url.replace("CODE", encodeURIComponent(p.code));
    });
    dot.addTo(map);
    points.push([p.lat, p.lon]);
  });
  if (points.length) map.fitBounds(points, { padding: [20, 20], maxZoom: 16 });
  else map.setView([40.4, 110.0], 9);
})();
