/* The grid map: drill down the visible grid tree (county → town → village → level-3 grid) and show each
   grid's figures and responsible people. Reads the grid API (/api/grids/); every word on the page comes
   translated from the server (#map-config), so this file holds no text. Works without a tile server:
   polygons on a plain background, a tile layer only when one is configured.

   When the server provides figures from an app above the grids (config.figures: the registry's, for users who
   may read them), each grid opened asks for them once — the grid's totals and each child's — and the panel
   shows them; the children can then be coloured by registered population, with a legend. */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("map-config").textContent);
  const T = config.text;
  const numbers = new Intl.NumberFormat(config.locale);
  const areas = new Intl.NumberFormat(config.locale, { maximumFractionDigits: 2 });
  // Calm, distinguishable fills (Tableau 10); neighbours mostly differ because codes run west→east.
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6"];
  const $ = (id) => document.getElementById(id);
  const narrow = window.matchMedia("(max-width: 760px)"); // the stacked layout of map.css
  const hover = window.matchMedia("(hover: hover)"); // on touch screens a tap is a click, not a hover
  const F = config.figures || null; // { url, text } when the user may read the registry's figures
  // A sequential ramp (ColorBrewer YlGnBu): light = few people, dark = many; grey = no figures.
  const RAMP = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"];
  const NO_FIGURES = "#d5dbe2";

  const map = L.map("map", { zoomSnap: 0.25, zoomDelta: 0.5, minZoom: 5, maxZoom: 18, worldCopyJump: false });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 18 }).addTo(map);
  }
  L.control.scale({ imperial: false }).addTo(map);
  map.setView([40.2, 109.85], 8);

  const contextLayer = L.featureGroup().addTo(map);
  const childLayer = L.featureGroup().addTo(map);
  const state = {
    container: null, selected: null, layers: new Map(), labels: [], seq: 0,
    figures: null, // the shown container's provided figures: { totals, byCode: Map(code → figures) } or null
    colouring: "grid", // or "population"
  };
  const cache = new Map();

  // -- data ---------------------------------------------------------------------------------------------
  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) {
      window.location.reload(); // the session ended: the page sends the user to sign in
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  function cached(key, load) {
    if (!cache.has(key)) {
      cache.set(key, load().catch((error) => { cache.delete(key); throw error; }));
    }
    return cache.get(key);
  }

  const detailOf = (id) => cached("d" + id, () => getJSON(config.api + id));
  function childrenOf(id, zoom) {
    const z = Math.max(0, Math.round(zoom * 2) / 2); // half-zoom steps keep the cache useful
    return cached("c" + id + "@" + z, () => getJSON(config.api + id + "/children.geojson?zoom=" + z));
  }

  // One request per grid opened: its totals and those of every grid below it. A grid outside the user's
  // registry (404) has none; any other failure leaves the map working without them.
  function figuresOf(grid) {
    if (!F) return Promise.resolve(null);
    return cached("f" + grid.code, async () => {
      try {
        const answer = await getJSON(F.url + "?grid=" + encodeURIComponent(grid.code));
        return { totals: answer.totals, byCode: new Map(answer.children.map((c) => [c.grid.code, c])), groups: answer.key_group_labels };
      } catch (error) {
        if (error.message === "404") return null;
        throw error;
      }
    }).catch(() => null);
  }

  // The figures of a grid shown on the map: the container's totals, or its entry among the children.
  function figuresFor(grid) {
    if (!state.figures) return null;
    return grid.id === state.container?.id ? state.figures.totals : state.figures.byCode.get(grid.code) || null;
  }

  // -- helpers ------------------------------------------------------------------------------------------
  const boundsOf = (bbox) => L.latLngBounds([bbox[1], bbox[0]], [bbox[3], bbox[2]]);
  const zoomFor = (bbox) => (bbox ? map.getBoundsZoom(boundsOf(bbox), false, L.point(32, 32)) : map.getZoom());

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function status(message) {
    const box = $("map-status");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function styleFor(props, index, scale) {
    const special = props.kind !== "base";
    const style = {
      color: "#334155",
      weight: 1.2,
      opacity: 0.9,
      fillColor: special ? "#f2c14e" : PALETTE[index % PALETTE.length],
      fillOpacity: 0.32,
      dashArray: special ? "4 3" : null,
      className: "grid-path grid-" + props.code,
    };
    if (scale) {
      const figures = state.figures?.byCode.get(props.code);
      style.fillColor = figures ? scale.colour(scale.classOf(figures.persons)) : NO_FIGURES;
      style.fillOpacity = 0.72;
    }
    return style;
  }

  // Equal classes of round width from 0 to the most populous child shown (at most five): easy to read.
  function populationScale() {
    if (state.colouring !== "population" || !state.figures) return null;
    const values = [...state.layers.values()].map((l) => state.figures.byCode.get(l.feature.properties.code)?.persons).filter((v) => v !== undefined);
    const max = Math.max(0, ...values);
    const raw = max / RAMP.length;
    const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
    const step = Math.max(1, [1, 2, 2.5, 5, 10].map((m) => m * power).find((w) => w >= raw));
    const classes = Math.min(RAMP.length, Math.floor(max / step) + 1);
    return {
      classes,
      step,
      max,
      missing: values.length < state.layers.size,
      classOf: (n) => Math.min(classes - 1, Math.floor(n / step)),
      // Fewer classes than colours: spread them over the whole ramp, so neighbours still differ clearly.
      colour: (i) => RAMP[classes === 1 ? 0 : Math.round((i * (RAMP.length - 1)) / (classes - 1))],
    };
  }

  // -- drawing ------------------------------------------------------------------------------------------
  function drawContext(collection, container) {
    contextLayer.clearLayers();
    if (!collection) return;
    L.geoJSON(collection, {
      filter: (f) => f.id !== container.id,
      style: () => ({ color: "#94a3b8", weight: 1, fillColor: "#cbd5e1", fillOpacity: 0.35, className: "grid-context" }),
      onEachFeature: (feature, layer) => {
        if (hover.matches) layer.bindTooltip(el("span", null, feature.properties.name), { sticky: true, className: "grid-tip" });
        layer.on("click", () => open(feature.id));
      },
    }).addTo(contextLayer);
  }

  function drawChildren(collection) {
    for (const { label } of state.labels) label.remove();
    childLayer.clearLayers();
    state.layers.clear();
    state.labels = [];
    collection.features.forEach((feature, index) => {
      const layer = L.geoJSON(feature, { style: () => styleFor(feature.properties, index) });
      layer.feature = feature;
      layer.index = index;
      layer.baseStyle = styleFor(feature.properties, index);
      layer.on("click", (event) => { L.DomEvent.stop(event); open(feature.id); });
      layer.on("mouseover", () => { if (state.selected?.id !== feature.id) layer.setStyle(hovered(layer)); });
      layer.on("mouseout", () => { if (state.selected?.id !== feature.id) layer.setStyle(layer.baseStyle); });
      // A function: the text is read when shown, so it carries the figures that came after the drawing.
      if (hover.matches) layer.bindTooltip(() => el("span", null, tooltipText(feature.properties)), { sticky: true, className: "grid-tip" });
      layer.addTo(childLayer);
      state.layers.set(feature.id, layer);
      const point = feature.properties.label;
      if (point) {
        const label = L.tooltip({ permanent: true, direction: "center", className: "grid-label", interactive: false })
          .setLatLng([point[1], point[0]])
          .setContent(el("span", null, feature.properties.name)); // a text node: Leaflet sets strings as HTML
        state.labels.push({ label, layer, name: feature.properties.name });
      }
    });
    refreshLabels();
  }

  function tooltipText(props) {
    const registered = state.figures?.byCode.get(props.code);
    return props.name + " · " + props.code
      + (props.population ? " · " + T.population + " " + numbers.format(props.population) : "")
      + (registered ? " · " + F.text.persons + " " + numbers.format(registered.persons) : "");
  }

  const hovered = (layer) => ({ ...layer.baseStyle, weight: 2.4, fillOpacity: Math.max(0.5, layer.baseStyle.fillOpacity) });

  // A permanent label only where the grid is big enough on screen to hold it.
  function refreshLabels() {
    for (const { label, layer, name } of state.labels) {
      const bounds = layer.getBounds();
      const nw = map.latLngToContainerPoint(bounds.getNorthWest());
      const se = map.latLngToContainerPoint(bounds.getSouthEast());
      const fits = se.x - nw.x > name.length * 13 + 8 && se.y - nw.y > 22;
      if (fits && !map.hasLayer(label)) label.addTo(map);
      if (!fits && map.hasLayer(label)) label.remove();
    }
  }
  map.on("zoomend", refreshLabels);

  function highlight(id) {
    for (const [key, layer] of state.layers) {
      if (key === id) {
        layer.setStyle({ ...layer.baseStyle, weight: 3.2, color: "#0f172a", fillOpacity: Math.max(0.62, layer.baseStyle.fillOpacity) });
        layer.bringToFront();
      } else {
        layer.setStyle(layer.baseStyle);
      }
    }
  }

  // -- the panel ----------------------------------------------------------------------------------------
  function renderCrumbs(container, selected) {
    const nav = $("crumbs");
    nav.replaceChildren();
    const trail = [...container.ancestors, container];
    if (selected && selected.id !== container.id) trail.push(selected);
    trail.forEach((grid, i) => {
      if (i) nav.append(el("span", "sep", "›"));
      const last = i === trail.length - 1;
      const item = el(last ? "span" : "button", last ? "crumb current" : "crumb", grid.name);
      if (!last) {
        item.type = "button";
        item.title = T.upTo.replace("%(name)s", grid.name);
        item.addEventListener("click", () => open(grid.id));
      } else {
        item.setAttribute("aria-current", "page");
      }
      nav.append(item);
    });
  }

  function renderPeople(people) {
    const box = $("g-people");
    box.replaceChildren();
    if (!people.length) {
      box.append(el("p", "muted", T.nobody));
      return;
    }
    let group = null;
    let list = null;
    for (const person of people) {
      if (!group || group.dataset.role !== person.role) {
        group = el("div", "role-group");
        group.dataset.role = person.role;
        group.append(el("h3", null, person.role_label));
        list = el("ul", "names");
        group.append(list);
        box.append(group);
      }
      const item = el("li", "person", person.name);
      if (person.department) item.append(el("span", "dept", person.department));
      list.append(item);
    }
  }

  function renderChildren(container, collection) {
    const section = $("children-section");
    const rows = $("g-children-rows");
    rows.replaceChildren();
    section.hidden = !collection || !collection.features.length;
    if (section.hidden) return;
    $("children-title").textContent = T.subgrids[String(container.level)] || T.subgrids["3"];
    // With provided figures the code goes under the name, to leave room for their two columns.
    const provided = Boolean(state.figures);
    section.classList.toggle("with-provided", provided);
    for (const th of section.querySelectorAll(".col-provided")) th.hidden = !provided;
    if (provided) {
      $("th-persons").textContent = F.text.registered;
      $("th-households").textContent = F.text.registeredHouseholds;
    }
    for (const feature of collection.features) {
      const p = feature.properties;
      const row = el("tr");
      row.dataset.id = p.id;
      row.dataset.code = p.code;
      const code = el("td", "code col-code", p.code);
      const name = el("td");
      const button = el("button", "link", p.name);
      button.type = "button";
      button.addEventListener("click", () => open(p.id));
      name.append(button);
      if (p.kind !== "base") name.append(el("span", "badge special", p.kind_label));
      if (provided) name.append(el("span", "code sub", p.code));
      row.append(code, name, el("td", "num", numbers.format(p.population)));
      if (provided) {
        const figures = state.figures.byCode.get(p.code);
        row.append(
          el("td", "num provided persons", figures ? numbers.format(figures.persons) : "—"),
          el("td", "num provided households", figures ? numbers.format(figures.households) : "—"),
        );
      }
      row.addEventListener("mouseenter", () => { const layer = state.layers.get(p.id); if (layer) layer.setStyle(hovered(layer)); });
      row.addEventListener("mouseleave", () => { if (state.selected?.id !== p.id) state.layers.get(p.id)?.setStyle(state.layers.get(p.id).baseStyle); });
      rows.append(row);
    }
  }

  function renderGrid(grid) {
    $("grid-card").hidden = false;
    $("g-level").textContent = grid.level_label;
    const kind = $("g-kind");
    kind.hidden = grid.kind === "base";
    kind.textContent = grid.kind === "base" ? "" : grid.kind_label;
    $("g-name").textContent = grid.name;
    $("g-code").textContent = grid.code;
    $("g-area").textContent = grid.area_km2 === null ? "—" : areas.format(grid.area_km2) + " " + T.km2;
    $("g-households").textContent = numbers.format(grid.households);
    $("g-population").textContent = numbers.format(grid.population);
    $("g-children-label").textContent = T.subgrids[String(grid.level)] || T.subgrids["3"];
    $("g-children").textContent = numbers.format(grid.child_count);
    $("g-children").parentElement.hidden = !grid.child_count; // a level-3 grid has none to count
    renderPeople(grid.people);
    renderProvided(grid);
    for (const row of $("g-children-rows").children) {
      row.classList.toggle("selected", Number(row.dataset.id) === grid.id);
    }
  }

  // The provided figures of the selected grid: counts only (key groups too), in the provider's words.
  function renderProvided(grid) {
    const box = $("g-provided");
    box.replaceChildren();
    box.hidden = !F;
    if (!F) return;
    const W = F.text;
    const head = el("h2", null, W.title);
    head.id = "provided-title";
    head.append(el("span", "muted", W.scope));
    box.append(head);
    const figures = figuresFor(grid);
    if (!figures) {
      box.append(el("p", "muted", W.none));
      return;
    }
    const list = el("dl", "figures provided-figures");
    const inGroups = Object.values(figures.key_groups).reduce((a, b) => a + b, 0);
    for (const [key, value] of [
      ["persons", figures.persons], ["households", figures.households], ["buildings", figures.buildings],
      ["organisations", figures.organisations], ["components", figures.components], ["keyGroups", inGroups],
    ]) {
      const item = el("div");
      item.dataset.figure = key;
      item.append(el("dt", null, W[key]), el("dd", null, numbers.format(value)));
      list.append(item);
    }
    box.append(list);
    const groups = el("ul", "key-groups");
    groups.setAttribute("aria-label", W.keyGroups + " (" + W.countsOnly + ")");
    for (const { code, label } of state.figures.groups) {
      const n = figures.key_groups[code] || 0;
      const item = el("li", n ? null : "zero");
      item.dataset.group = code;
      item.append(el("span", "n", numbers.format(n)), document.createTextNode(label));
      groups.append(item);
    }
    box.append(groups);
  }

  // -- colouring and its legend ---------------------------------------------------------------------------
  function restyle() {
    const scale = populationScale();
    for (const layer of state.layers.values()) layer.baseStyle = styleFor(layer.feature.properties, layer.index, scale);
    highlight(state.selected && state.selected.id !== state.container?.id ? state.selected.id : null);
    renderLegend(scale);
  }

  const legend = L.control({ position: "bottomright" });
  legend.onAdd = () => {
    const box = L.DomUtil.create("div", "map-legend");
    box.id = "map-legend";
    box.hidden = true;
    return box;
  };

  function renderLegend(scale) {
    const box = $("map-legend");
    if (!box) return;
    box.replaceChildren();
    box.hidden = state.colouring !== "population";
    if (box.hidden) return;
    box.append(el("p", "legend-title", F.text.legend));
    if (!scale) {
      box.append(el("p", "muted", F.text.none));
      return;
    }
    const rows = el("ul");
    for (let i = 0; i < scale.classes; i++) {
      const low = i * scale.step;
      const high = i === scale.classes - 1 ? scale.max : (i + 1) * scale.step - 1;
      rows.append(legendRow(scale.colour(i), low === high ? numbers.format(low) : numbers.format(low) + "–" + numbers.format(high)));
    }
    if (scale.missing) rows.append(legendRow(NO_FIGURES, F.text.noFigures));
    box.append(rows);
  }

  function legendRow(colour, text) {
    const row = el("li");
    const swatch = el("span", "swatch");
    swatch.style.background = colour;
    row.append(swatch, el("span", null, text));
    return row;
  }

  if (F) {
    // The colouring choice sits on the map, beside the grids it colours.
    const control = L.control({ position: "topright" });
    control.onAdd = () => {
      const box = L.DomUtil.create("div", "map-colouring");
      const label = el("label", null, T.colour);
      const select = el("select");
      select.id = label.htmlFor = "map-colouring";
      for (const [value, text] of [["grid", T.byGrid], ["population", F.text.colourBy]]) {
        const option = el("option", null, text);
        option.value = value;
        select.append(option);
      }
      select.addEventListener("change", () => { state.colouring = select.value; restyle(); });
      box.append(label, select);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    control.addTo(map);
    legend.addTo(map);
  }

  // -- navigation -----------------------------------------------------------------------------------------
  async function showContainer(container, seq) {
    const zoom = zoomFor(container.bbox);
    const [children, context, figures] = await Promise.all([
      childrenOf(container.id, zoom),
      container.parent_id ? childrenOf(container.parent_id, zoom) : Promise.resolve(null),
      figuresOf(container),
    ]);
    if (seq !== state.seq) return false;
    state.container = container;
    state.figures = figures;
    drawContext(context, container);
    drawChildren(children);
    restyle();
    if (container.bbox) map.fitBounds(boundsOf(container.bbox), { padding: [16, 16], animate: false });
    refreshLabels();
    renderChildren(container, children);
    return true;
  }

  async function open(id, { push = true } = {}) {
    const seq = ++state.seq;
    document.body.classList.add("loading");
    try {
      const grid = await detailOf(id);
      // A grid with children is shown with them; a level-3 grid is shown among its siblings.
      const container = grid.child_count || !grid.parent_id ? grid : await detailOf(grid.parent_id);
      if (seq !== state.seq) return;
      if (!state.container || state.container.id !== container.id) {
        if (!(await showContainer(container, seq))) return;
      }
      state.selected = grid;
      renderGrid(grid);
      renderCrumbs(container, grid);
      highlight(grid.id === container.id ? null : grid.id);
      status("");
      // Show the grid's name and figures first: the panel (or, on a phone, the page) goes back to the top.
      $("panel").scrollTop = 0;
      if (narrow.matches) window.scrollTo({ top: 0 });
      const hash = "#grid=" + grid.id;
      if (push && window.location.hash !== hash) history.pushState({ grid: grid.id }, "", hash);
      else if (!push) history.replaceState({ grid: grid.id }, "", hash);
    } catch (error) {
      if (seq !== state.seq) return;
      if (error.message === "404" && !state.container) {
        // A link to a grid that is gone or out of scope: say so, and open the user's own grids instead.
        await start({ ignoreHash: true });
        status(T.notFound);
      } else {
        status(T.loadFailed);
      }
    } finally {
      if (seq === state.seq) document.body.classList.remove("loading");
    }
  }

  window.addEventListener("popstate", (event) => {
    const id = event.state?.grid || gridFromHash();
    if (id) open(id, { push: false });
  });

  function gridFromHash() {
    const match = /grid=(\d+)/.exec(window.location.hash);
    return match ? Number(match[1]) : null;
  }

  // -- search -------------------------------------------------------------------------------------------------
  const input = $("grid-q");
  const hits = $("hits");
  let searchTimer = null;
  let lastHits = [];

  async function runSearch() {
    const q = input.value.trim();
    if (!q) { hits.hidden = true; lastHits = []; return; }
    try {
      lastHits = await getJSON(config.api + "search?q=" + encodeURIComponent(q));
    } catch (error) {
      return;
    }
    if (input.value.trim() !== q) return;
    hits.replaceChildren();
    if (!lastHits.length) hits.append(el("li", "muted empty", T.noHits));
    for (const hit of lastHits) {
      const item = el("li");
      const button = el("button", "hit");
      button.type = "button";
      button.append(el("span", "hit-name", hit.name), el("span", "code", hit.code));
      if (hit.context) button.append(el("span", "hit-context", hit.context));
      button.addEventListener("click", () => choose(hit.id));
      item.append(button);
      hits.append(item);
    }
    hits.hidden = false;
  }

  function choose(id) {
    hits.hidden = true;
    input.blur();
    open(id);
  }

  input.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 180);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hits.hidden = true;
  });
  $("search").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(searchTimer);
    await runSearch();
    if (lastHits.length) choose(lastHits[0].id);
  });
  document.addEventListener("click", (event) => {
    if (!$("search").contains(event.target)) hits.hidden = true;
  });

  // -- start ----------------------------------------------------------------------------------------------------
  async function start({ ignoreHash = false } = {}) {
    const wanted = ignoreHash ? null : gridFromHash() || config.initial;
    if (wanted) return open(wanted, { push: false });
    try {
      const top = await getJSON(config.api + "start");
      cache.set("d" + top.id, Promise.resolve(top));
      await open(top.id, { push: false });
    } catch (error) {
      status(error.message === "404" ? T.noScope : T.loadFailed);
    }
  }

  window.gridMap = { map, open, state }; // for the browser tests and the console
  start();
})();
