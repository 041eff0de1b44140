/* The command wall: reads the wall API (/api/command/wall/…) and the grid API's polygons, draws the map
   (children coloured by open load, red edges where cases are overdue, open cases as points, an H3 hexagon
   heat layer), the counters, the trend and ranking charts (ECharts), and the live feed (EventSource on the
   feed server, resuming with Last-Event-ID by itself after a drop). Every word comes translated from the
   server (#wall-config); this file holds no text. With config.animation false nothing moves (screenshots). */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("wall-config").textContent);
  const T = config.text;
  const animate = config.animation;
  const numbers = new Intl.NumberFormat(config.locale);
  const $ = (id) => document.getElementById(id);
  const query = config.code ? "?grid=" + encodeURIComponent(config.code) : "";
  const REFRESH_MS = 60000;
  const FEED_MAX = 40;
  // Fills from few to many open cases (dark blue → orange); an edge in red where cases are overdue.
  const RAMP = ["#123a6b", "#1f5f9e", "#2f8fc4", "#e0a43a", "#e8732c"];

  // -- data ---------------------------------------------------------------------------------------------
  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) {
      window.location.reload();
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }
  const wallData = (name) => getJSON(config.api + name + query);

  function showError(on) {
    const box = $("wall-error");
    box.textContent = T.loadFailed;
    box.hidden = !on;
  }

  // -- clock --------------------------------------------------------------------------------------------
  function tick() {
    const now = new Date();
    // The county's time, as the feed and the figures have it, whatever the screen's computer is set to.
    const zone = config.timeZone;
    $("wall-date").textContent = now.toLocaleDateString(config.locale, { year: "numeric", month: "2-digit", day: "2-digit", weekday: "short", timeZone: zone });
    $("wall-time").textContent = now.toLocaleTimeString(config.locale, { hour12: false, timeZone: zone });
  }
  tick();
  setInterval(tick, 1000);

  // -- map ----------------------------------------------------------------------------------------------
  const map = L.map("wall-map", {
    zoomSnap: 0.1, minZoom: 5, maxZoom: 18, attributionControl: false, zoomControl: false,
    fadeAnimation: animate, zoomAnimation: animate, markerZoomAnimation: animate,
  });
  if (config.tileUrl) L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 18 }).addTo(map);
  const b = config.grid.bbox;
  if (b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [20, 20], animate: false });
  else map.setView([40.2, 109.85], 8);
  const heatLayer = L.layerGroup().addTo(map);
  const gridLayer = L.featureGroup().addTo(map);
  const pointLayer = L.layerGroup().addTo(map);
  let polygons = null; // the children's GeoJSON
  let load = new Map(); // code → the child's figures

  function drillTo(code) {
    const params = new URLSearchParams({ grid: code });
    if (!animate) params.set("animation", "0");
    window.location.assign(config.page + "?" + params.toString());
  }

  async function loadPolygons() {
    const g = config.grid;
    const zoom = Math.max(0, Math.round(map.getZoom() * 2) / 2);
    // A level-3 grid has no children: its own polygon, from its parent's children.
    const owner = g.level === 3 ? g.parent : g.id;
    const data = await getJSON(config.grids + owner + "/children.geojson?zoom=" + zoom);
    if (g.level === 3) data.features = data.features.filter((f) => f.properties.code === g.code);
    polygons = data;
  }

  function fillOf(open, max) {
    if (!open || !max) return RAMP[0];
    const i = Math.min(RAMP.length - 1, Math.floor((open / max) * (RAMP.length - 0.01)));
    return RAMP[Math.max(1, i)];
  }

  function drawGrids() {
    gridLayer.clearLayers();
    if (!polygons) return;
    const max = Math.max(1, ...Array.from(load.values(), (r) => r.open));
    const clickable = config.grid.level < 3;
    const layer = L.geoJSON(polygons, {
      style: (f) => {
        const r = load.get(f.properties.code) || { open: 0, overdue: 0 };
        return {
          color: r.overdue ? "#ff4d4f" : "#4aa3ff",
          weight: r.overdue ? 2.5 : 1.2,
          fillColor: fillOf(r.open, max),
          fillOpacity: 0.55,
        };
      },
      onEachFeature: (f, l) => {
        const r = load.get(f.properties.code) || { open: 0, overdue: 0 };
        const where = f.properties.label;
        if (where) {
          const text = `${f.properties.name}<small>${T.open} ${numbers.format(r.open)} · ${T.overdue} <b>${numbers.format(r.overdue)}</b></small>`;
          L.tooltip({ permanent: true, direction: "center", className: "grid-label", interactive: false })
            .setLatLng([where[1], where[0]]).setContent(text).addTo(gridLayer);
        }
        if (clickable) {
          l.on("click", () => drillTo(f.properties.code));
          l.on("mouseover", () => l.setStyle({ fillOpacity: 0.8 }));
          l.on("mouseout", () => l.setStyle({ fillOpacity: 0.55 }));
        }
      },
    });
    layer.addTo(gridLayer);
    heatLayer.eachLayer((h) => h.bringToFront());
    pointLayer.eachLayer((p) => p.bringToFront && p.bringToFront());
  }

  function drawHeat(heat) {
    heatLayer.clearLayers();
    const max = Math.max(1, heat.max);
    for (const cell of heat.cells) {
      const share = cell.n / max;
      L.polygon(cell.boundary, {
        stroke: true, color: "#ffd24d", weight: 0.6, opacity: 0.35 + 0.4 * share,
        fillColor: share > 0.66 ? "#ff7a1a" : share > 0.33 ? "#ffb21a" : "#ffd24d",
        fillOpacity: 0.1 + 0.4 * share, interactive: false,
      }).addTo(heatLayer);
    }
  }

  function drawPoints(points) {
    pointLayer.clearLayers();
    for (const p of points) {
      L.circleMarker([p.lat, p.lon], {
        radius: p.overdue ? 4.5 : 3, weight: 1, color: p.overdue ? "#ffd0d0" : "#bff6ff",
        fillColor: p.overdue ? "#ff4d4f" : "#3fe0ff", fillOpacity: 0.95, interactive: false,
      }).addTo(pointLayer);
    }
  }

  // -- counters, table, charts --------------------------------------------------------------------------
  function drawCounters(c) {
    for (const key of ["reported_today", "open", "overdue", "supervised", "closed_today"]) {
      $("c-" + key).textContent = numbers.format(c[key]);
    }
    for (const key of ["closing_rate", "satisfaction"]) {
      $("c-" + key).textContent = c[key] === null ? "–" : c[key].toFixed(1) + "%";
    }
  }

  function drawTable(rows) {
    const body = $("load-rows");
    body.textContent = "";
    const sorted = rows.slice().sort((a, b) => b.overdue - a.overdue || b.open - a.open || a.code.localeCompare(b.code));
    for (const r of sorted.slice(0, 14)) {
      const tr = document.createElement("tr");
      tr.dataset.code = r.code;
      const cells = [r.name, numbers.format(r.open), numbers.format(r.overdue), r.closing_rate === null ? "–" : r.closing_rate.toFixed(1) + "%"];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i > 0) td.className = "num";
        if (i === 2 && r.overdue) td.className = "num red";
        tr.appendChild(td);
      });
      if (config.grid.level < 3) tr.addEventListener("click", () => drillTo(r.code));
      body.appendChild(tr);
    }
  }

  const AXIS = { axisLine: { lineStyle: { color: "#2a5a96" } }, axisLabel: { color: "#8fb8e8", fontSize: 12 }, splitLine: { lineStyle: { color: "rgba(42,90,150,0.35)" } } };
  const charts = {};
  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init($(id), null, { renderer: "canvas" });
    return charts[id];
  }
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));

  function drawTrend(t) {
    chart("chart-trend").setOption({
      animation: animate,
      grid: { left: 40, right: 12, top: 30, bottom: 24 },
      legend: { top: 0, right: 0, textStyle: { color: "#cfe6ff" }, data: [T.reported, T.closed] },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: t.days.map((d) => d.slice(5)), ...AXIS, axisLabel: { ...AXIS.axisLabel, interval: 4 } },
      yAxis: { type: "value", minInterval: 1, ...AXIS },
      series: [
        { name: T.reported, type: "line", smooth: true, symbol: "none", data: t.reported, lineStyle: { color: "#3fe0ff", width: 2 }, itemStyle: { color: "#3fe0ff" },
          areaStyle: { color: new echarts.graphic.LinearGradient(0, 0, 0, 1, [{ offset: 0, color: "rgba(63,224,255,0.45)" }, { offset: 1, color: "rgba(63,224,255,0)" }]) } },
        { name: T.closed, type: "line", smooth: true, symbol: "none", data: t.closed, lineStyle: { color: "#4ff0a0", width: 2 }, itemStyle: { color: "#4ff0a0" } },
      ],
    });
  }

  function drawBars(id, rows, value, colour, suffix) {
    const top = rows.slice(0, 6).reverse();
    chart(id).setOption({
      animation: animate,
      grid: { left: 8, right: 48, top: 6, bottom: 4, containLabel: true },
      xAxis: { type: "value", show: false, max: suffix ? 100 : null },
      yAxis: { type: "category", data: top.map((r) => r.name), axisLine: { show: false }, axisTick: { show: false }, axisLabel: { color: "#d8e9ff", fontSize: 13 } },
      series: [{
        type: "bar", barWidth: "55%", data: top.map((r) => r[value]),
        itemStyle: { color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [{ offset: 0, color: "rgba(20,60,120,0.9)" }, { offset: 1, color: colour }]), borderRadius: [0, 3, 3, 0] },
        label: { show: true, position: "right", color: "#ffffff", fontSize: 13, formatter: (p) => (suffix ? Number(p.value).toFixed(1) + suffix : numbers.format(p.value)) },
        showBackground: true, backgroundStyle: { color: "rgba(42,90,150,0.18)" },
      }],
      graphic: top.length ? [] : [{ type: "text", left: "center", top: "middle", style: { text: T.none, fill: "#6f8fb8", fontSize: 14 } }],
    });
  }

  // -- loading ------------------------------------------------------------------------------------------
  async function refresh(all) {
    try {
      const wanted = [wallData("counters"), wallData("children"), wallData("points")];
      if (all) wanted.push(wallData("heat"), wallData("trends"), wallData("rankings"));
      const [counters, children, points, heat, trends, rankings] = await Promise.all(wanted);
      drawCounters(counters);
      load = new Map(children.children.map((r) => [r.code, r]));
      drawTable(children.children);
      if (!polygons) await loadPolygons();
      drawGrids();
      if (heat) drawHeat(heat);
      drawPoints(points.points);
      if (trends) drawTrend(trends);
      if (rankings) {
        drawBars("chart-overdue", rankings.overdue, "overdue", "#ff4d4f", "");
        drawBars("chart-rate", rankings.closing_rate, "closing_rate", "#4ff0a0", "%");
      }
      showError(false);
      document.body.dataset.loaded = "1";
    } catch (error) {
      if (error.message !== "signed out") showError(true);
    }
  }
  refresh(true);
  setInterval(() => refresh(true), REFRESH_MS);

  // -- live feed ----------------------------------------------------------------------------------------
  const feed = $("feed");
  function emptyFeed() {
    if (!feed.children.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = T.noEvents;
      feed.appendChild(li);
    }
  }
  emptyFeed();

  function addEvent(e) {
    const empty = feed.querySelector(".empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    if (animate) li.className = "fresh";
    const time = document.createElement("time");
    time.textContent = e.at ? e.at.slice(11, 19) : "";
    const what = document.createElement("span");
    what.className = "what";
    const action = e.topic.startsWith("case.") ? config.actions[e.topic.slice(5)] || e.topic : e.topic;
    const b = document.createElement("b");
    b.textContent = action;
    what.append(b, document.createTextNode([e.grid, e.number].filter(Boolean).join(" · ")));
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = config.states[e.state] || "";
    li.append(time, what, state);
    feed.prepend(li);
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
  }

  let soon = null;
  function refreshSoon() {
    // Many events at once (the sweep) make one refresh, not one each.
    if (soon) return;
    soon = setTimeout(() => { soon = null; refresh(false); }, 5000);
  }

  function connect() {
    if (!window.EventSource) return;
    const s = config.sse;
    const base = s.port ? `${location.protocol}//${location.hostname}:${s.port}` : "";
    const url = base + s.path + (s.grid ? "?grid=" + encodeURIComponent(s.grid) : "");
    const source = new EventSource(url, { withCredentials: true });
    const state = $("live-state");
    source.onopen = () => { state.textContent = T.live; state.classList.remove("off"); };
    source.onerror = () => { state.textContent = T.offline; state.classList.add("off"); };
    source.addEventListener("live", (message) => {
      addEvent(JSON.parse(message.data));
      refreshSoon();
    });
  }
  connect();
})();
