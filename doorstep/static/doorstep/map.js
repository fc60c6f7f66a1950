// The territory map: houses as 3D vector tiles coloured red/yellow/green, grids with labels, police rooms and
// units, video cameras and broadcast speakers (with the broadcast dialog of broadcast.js), patrol tracks, findings
// and coverage, the KPI of each grid, filters with a live count, search that flies to a house, and the house
// panel. MapLibre GL, vendored; nothing is loaded from outside the server.
(function () {
  const el = document.getElementById("map");
  if (!el || !window.maplibregl) return;
  const d = el.dataset;
  const status = document.getElementById("map-status");
  const countEl = document.getElementById("map-count");
  const side = document.getElementById("house-side");
  const form = document.getElementById("map-filters");
  const font = [d.font];
  const [minZoom, maxZoom, polygonZoom] = d.zooms.split(",").map(Number);
  const COLOURS = { red: "#d63939", yellow: "#f59f00", green: "#2fb344" };
  const colourExpr = ["match", ["get", "colour"], "red", COLOURS.red, "yellow", COLOURS.yellow, COLOURS.green];
  const origin = window.location.origin;

  const focus = d.focus ? d.focus.split(",").map(Number) : null;
  const map = new maplibregl.Map({
    container: el,
    style: d.styleUrl,
    // The territory (or the grid asked for) from the page itself: the house tiles load with the style.
    ...(focus ? { bounds: [[focus[0], focus[1]], [focus[2], focus[3]]], fitBoundsOptions: { padding: 30 } }
      : { center: d.center.split(",").map(Number), zoom: 11 }),
    maxPitch: 70,
    // CJK ideographs are drawn with the browser's local fonts; only Latin/digit glyph ranges ship as PBF.
    localIdeographFontFamily: "'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif",
    attributionControl: false,
  });
  window.doorstepMap = map; // for the browser tests and the render benchmark
  // A tile request cancelled because the view or the filters moved on is not an error; anything else is
  // reported with what failed (MapLibre's default handler prints only the bare error object).
  map.on("error", (e) => {
    const err = e.error || {};
    if (err.name === "AbortError" || /abort/i.test(err.message || "")) return;
    console.error("map:", err.status || "", err.url || "", err.message || err);
  });
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url.split("?")[0] + " → " + response.status);
    return response.json();
  }

  function bounds(fc) {
    const b = new maplibregl.LngLatBounds();
    for (const f of fc.features) {
      const g = f.geometry;
      const rings = g.type === "Polygon" ? g.coordinates : g.type === "MultiPolygon" ? g.coordinates.flat() : [[g.coordinates]];
      for (const ring of rings) for (const c of ring) b.extend(c);
    }
    return b;
  }

  // --- filters: one query string for the tiles, the count and the GeoJSON variant ------------------------
  function filterQuery() {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) params.set(key, value);
    return params.toString();
  }

  function tileURL() {
    const q = filterQuery();
    return origin + d.tilesUrl + (q ? "?" + q : "");
  }

  async function refreshCount() {
    try {
      const s = await getJSON(d.summaryUrl + "?" + filterQuery());
      countEl.textContent = `${d.labelHouses} ${s.count.toLocaleString("zh-CN")}（${d.labelRed} ${s.colours.red} · ${d.labelYellow} ${s.colours.yellow} · ${d.labelGreen} ${s.colours.green}）`;
      return s;
    } catch (err) {
      countEl.textContent = d.labelError;
      console.warn(err);
      return null;
    }
  }

  async function geojsonHouses() {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].join(",");
    const q = filterQuery();
    return getJSON(`${d.geojsonUrl}?bbox=${bbox}${q ? "&" + q : ""}`);
  }

  function addHouses() {
    if (d.houseSource === "geojson") {
      map.addSource("houses", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    } else {
      map.addSource("houses", { type: "vector", tiles: [tileURL()], minzoom: minZoom, maxzoom: maxZoom });
    }
    const layer = d.houseSource === "geojson" ? {} : { "source-layer": "houses" };
    // Zoomed out (13–14): colour counts per cell, the worst colour shown, sized by the number of houses.
    map.addLayer({ id: "house-cells", type: "circle", source: "houses", ...layer, maxzoom: polygonZoom,
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-color": colourExpr, "circle-opacity": 0.75,
        "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "n"]], 1, 2.5, 30, 14],
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 0.5 } });
    // From zoom 15: every house as its footprint, extruded 3 m per floor.
    map.addLayer({ id: "houses-3d", type: "fill-extrusion", source: "houses", ...layer, minzoom: polygonZoom,
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-extrusion-color": ["case", ["boolean", ["feature-state", "selected"], false], "#206bc4", colourExpr],
        "fill-extrusion-height": ["*", ["coalesce", ["get", "floors"], 1], 3],
        "fill-extrusion-opacity": 0.88 } });
  }

  // Resolves on the first `idle` after the change just made (registered before the map can go idle).
  function drawn() {
    return new Promise((resolve) => map.once("idle", resolve));
  }

  async function reloadHouses() {
    const source = map.getSource("houses");
    if (!source) return drawn();
    if (d.houseSource === "geojson") source.setData(await geojsonHouses());
    else source.setTiles([tileURL()]);
    return drawn();
  }

  // --- the house panel ---------------------------------------------------------------------------------
  let selected = null;
  function select(id) {
    const target = { source: "houses", ...(d.houseSource === "geojson" ? {} : { sourceLayer: "houses" }) };
    if (selected !== null) map.setFeatureState({ ...target, id: selected }, { selected: false });
    selected = id;
    if (id !== null) map.setFeatureState({ ...target, id }, { selected: true });
  }

  async function openPanel(id) {
    select(id);
    side.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(d.panelUrl.replace("/0/", `/${id}/`), { credentials: "same-origin" });
      if (!response.ok || response.redirected) throw new Error(String(response.status));
      side.innerHTML = await response.text(); // rendered by our server, escaped by its templates
    } catch (err) {
      side.textContent = d.labelError;
      console.warn(err);
    } finally {
      side.removeAttribute("aria-busy");
    }
  }

  // --- search: fly to the hit and open its house -------------------------------------------------------
  const searchInput = document.getElementById("map-search");
  const results = document.getElementById("map-search-results");
  let searchTimer = null;
  function hideResults() { results.hidden = true; results.replaceChildren(); }
  async function runSearch() {
    const q = searchInput.value.trim();
    if (!q) return hideResults();
    let body;
    try { body = await getJSON(`${d.searchUrl}?q=${encodeURIComponent(q)}&limit=10`); } catch (err) { console.warn(err); return; }
    results.replaceChildren();
    if (!body.results.length) {
      const none = document.createElement("div");
      none.className = "list-group-item small text-secondary";
      none.textContent = d.labelNone;
      results.append(none);
    }
    for (const hit of body.results) {
      const item = document.createElement("button");
      item.type = "button";
      item.className = "list-group-item list-group-item-action py-1";
      item.dataset.kind = hit.kind;
      const title = document.createElement("div");
      title.className = "fw-bold small";
      title.textContent = hit.title + (hit.lng === null ? " " + d.labelNotOnMap : "");
      const sub = document.createElement("div");
      sub.className = "small text-secondary";
      sub.textContent = hit.subtitle;
      item.append(title, sub);
      item.addEventListener("click", () => {
        hideResults();
        if (hit.lng === null) { window.location.href = hit.url; return; }
        map.flyTo({ center: [hit.lng, hit.lat], zoom: 17.5, pitch: 50, speed: 1.6 });
        if (hit.house) map.once("idle", () => openPanel(hit.house));
      });
      results.append(item);
    }
    results.hidden = false;
  }
  searchInput.addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 250); });
  searchInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { clearTimeout(searchTimer); runSearch(); }
    if (e.key === "Escape") hideResults();
  });

  // --- layers ------------------------------------------------------------------------------------------
  map.on("load", async () => {
    try {
      // Houses first: their tiles start loading while the other layers are fetched.
      if (d.houseSource !== "geojson") addHouses();
      const video = loadVideo();
      const [grids, rooms, units, inspections] = await Promise.all([
        getJSON(d.gridsUrl), getJSON(d.roomsUrl), getJSON(d.unitsUrl),
        d.inspectionsUrl ? getJSON(d.inspectionsUrl) : Promise.resolve(null),
      ]);
      // 五统一: each room carries its inspection status (ok / open_tasks / stale / overdue), score and tasks.
      if (inspections) {
        const byRoom = new Map(inspections.features.map((f) => [f.properties.id, f.properties]));
        for (const f of rooms.features) {
          const i = byRoom.get(f.properties.id);
          if (i) Object.assign(f.properties, { inspection: i.status, score: i.score, tasks: i.open_tasks, inspection_url: i.url });
        }
      }
      const labels = {
        type: "FeatureCollection",
        features: grids.features.map((f) => ({
          type: "Feature",
          geometry: { type: "Point", coordinates: [f.properties.label_lng, f.properties.label_lat] },
          properties: { name: f.properties.name },
        })),
      };
      map.addSource("grids", { type: "geojson", data: grids });
      map.addSource("grid-labels", { type: "geojson", data: labels });
      map.addSource("rooms", { type: "geojson", data: rooms });
      map.addSource("units", { type: "geojson", data: units });
      if (d.houseSource === "geojson") addHouses();
      // Grids under the houses.
      map.addLayer({ id: "grids-fill", type: "fill", source: "grids", paint: { "fill-color": "#206bc4", "fill-opacity": 0.05 } }, "house-cells");
      map.addLayer({ id: "grids-line", type: "line", source: "grids", paint: { "line-color": "#206bc4", "line-width": 1.2 } }, "house-cells");
      // Key units purple; with one-click alarm devices a red ring; with an alarm not yet closed, red and large
      // at every zoom (the dispatcher must find it on the whole district).
      map.addLayer({ id: "units", type: "circle", source: "units", minzoom: 13, filter: ["==", ["get", "alarms"], 0],
        paint: { "circle-radius": ["case", ["get", "key"], 6, 3.5], "circle-color": ["case", ["get", "key"], "#ae3ec9", "#667382"],
          "circle-stroke-color": ["case", [">", ["get", "devices"], 0], "#d63939", "#fff"],
          "circle-stroke-width": ["case", [">", ["get", "devices"], 0], 2.5, 1.5] } });
      map.addLayer({ id: "units-alarm", type: "circle", source: "units", filter: [">", ["get", "alarms"], 0],
        paint: { "circle-radius": 10, "circle-color": "#d63939", "circle-stroke-color": "#fff", "circle-stroke-width": 3 } });
      map.addLayer({ id: "units-label", type: "symbol", source: "units", minzoom: 15, filter: ["get", "key"],
        layout: { "text-field": ["get", "name"], "text-font": font, "text-size": 11, "text-offset": [0, 1.1], "text-anchor": "top" },
        paint: { "text-color": "#7b2a8f", "text-halo-color": "#ffffff", "text-halo-width": 1.5 } });
      map.addLayer({ id: "grids-label", type: "symbol", source: "grid-labels", minzoom: 11, maxzoom: 16,
        layout: { "text-field": ["get", "name"], "text-font": font, "text-size": 12 },
        paint: { "text-color": "#1d3557", "text-halo-color": "#ffffff", "text-halo-width": 1.5 } });
      map.addLayer({ id: "rooms", type: "circle", source: "rooms",
        paint: { "circle-radius": 7, "circle-stroke-color": "#fff", "circle-stroke-width": 2,
          // Inspection status where known: passed green, open rectification amber, not inspected lately grey,
          // overdue rectification red; blue without inspection data.
          "circle-color": ["match", ["coalesce", ["get", "inspection"], ""],
            "ok", "#2fb344", "open_tasks", "#f59f00", "stale", "#868e96", "overdue", "#d63939", "#206bc4"] } });
      map.addLayer({ id: "rooms-label", type: "symbol", source: "rooms", minzoom: 12,
        layout: { "text-field": ["get", "name"], "text-font": font, "text-size": 12, "text-offset": [0, 1.2], "text-anchor": "top" },
        paint: { "text-color": "#1a4f8b", "text-halo-color": "#ffffff", "text-halo-width": 1.5 } });

      if (focus) { /* opened on it */ } else if (grids.features.length) map.fitBounds(bounds(grids), { padding: 30, duration: 0 });
      else if (rooms.features.length) map.fitBounds(bounds(rooms), { padding: 60, duration: 0, maxZoom: 15 });
      const firstDraw = d.houseSource === "geojson" ? reloadHouses() : drawn();

      map.on("click", "houses-3d", (e) => { if (!videoAt(e.point)) openPanel(e.features[0].id); });
      map.on("click", "house-cells", (e) => map.flyTo({ center: e.lngLat, zoom: polygonZoom + 1 }));
      map.on("click", "rooms", (e) => {
        const p = e.features[0].properties;
        const box = document.createElement("div");
        const title = document.createElement("strong");
        title.textContent = p.name;
        const address = document.createElement("div");
        address.className = "small";
        address.textContent = p.address;
        const phone = document.createElement("div");
        phone.className = "small";
        phone.textContent = `${d.labelPhone}：${p.phone} · ${p.hours}`;
        box.append(title, address, phone);
        if (p.inspection) {
          const line = document.createElement("a");
          line.className = "small d-block";
          line.href = p.inspection_url;
          const score = p.score === null || p.score === undefined || p.score === "null" ? d.labelNever : `${d.labelScore} ${p.score}`;
          line.textContent = `${d.labelInspection}：${score} · ${d.labelTasks} ${p.tasks}`;
          line.dataset.testid = "room-inspection";
          box.append(line);
        }
        new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(box).addTo(map);
      });
      const unitPopup = (p, lngLat) => {
        const box = document.createElement("div");
        const title = document.createElement("strong");
        title.textContent = p.name;
        const kind = document.createElement("div");
        kind.className = "small";
        kind.textContent = `${p.key ? d.labelKeyUnit : d.labelUnit} · ${p.type}`;
        const link = document.createElement("a");
        link.className = "small";
        link.href = `/registry/units/${p.id}/`;
        link.textContent = "→";
        box.append(title, kind);
        if (p.devices > 0 || p.alarms > 0) {
          const alarm = document.createElement("div");
          alarm.className = p.alarms > 0 ? "small text-danger fw-bold" : "small";
          alarm.textContent = `${d.labelDevices} ${p.devices}` + (p.alarms > 0 ? ` · ${d.labelOpenAlarms} ${p.alarms}` : "");
          box.append(alarm);
        }
        box.append(link);
        new maplibregl.Popup().setLngLat(lngLat).setDOMContent(box).addTo(map);
      };
      for (const layer of ["units", "units-alarm"]) map.on("click", layer, (e) => unitPopup(e.features[0].properties, e.lngLat));
      if (d.focusUnit) {
        const unit = units.features.find((f) => String(f.id) === d.focusUnit);
        if (unit) unitPopup(unit.properties, unit.geometry.coordinates);
      }
      for (const layer of ["rooms", "units", "units-alarm", "houses-3d", "house-cells"]) {
        map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
        map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
      }
      const cctv = await video;
      addVideoLayers(cctv);
      status.textContent = `${d.labelGrid} ${grids.features.length} · ${d.labelRoom} ${rooms.features.length} · ${d.labelUnit} ${units.features.length}`
        + (cctv ? ` · ${d.labelCamera} ${cctv.cameras.features.length} · ${d.labelSpeaker} ${cctv.speakers.features.length}` : "");
      await refreshCount();
      await firstDraw;
      el.dataset.ready = "1";
    } catch (err) {
      status.textContent = d.labelError;
      el.dataset.ready = "error";
      console.error(err);
    }
  });
  if (d.houseSource === "geojson") map.on("moveend", () => map.getSource("houses") && el.dataset.ready && reloadHouses());

  form.addEventListener("change", async (e) => {
    if (e.target === searchInput) return;
    el.dataset.ready = "";
    const reloaded = reloadHouses();
    const summary = await refreshCount();
    await reloaded;
    if (e.target.name === "grid" && e.target.value && summary && summary.bounds) {
      const [w, s, east, n] = summary.bounds;
      const moved = drawn();
      map.fitBounds([[w, s], [east, n]], { padding: 40, maxZoom: 17 });
      await moved;
    }
    el.dataset.ready = "1";
  });

  // --- video patrol: cameras (by status), broadcast speakers, unhandled motion events --------------------------
  // Cameras and speakers of the territory (empty, with `enabled: false`, for roles without video: the switches
  // stay hidden). A camera with motion events of the last 24 h not yet handled carries a pulsing marker (DOM,
  // so the map itself stays idle); the shared /ws/video/ socket of broadcast.js keeps it current.
  const CAMERA_COLOUR = ["match", ["get", "status"], "online", "#0b7285", "reconnecting", "#f76707", "offline", "#d63939",
    "disabled", "#adb5bd", "#868e96"];
  const cameraProps = new Map(); // id → properties as sent (arrays intact; MapLibre's copies hold strings)
  const speakerProps = new Map();
  const eventMarkers = new Map(); // camera id → maplibregl.Marker
  let mayBroadcast = false;

  // A click on a camera or speaker drawn over a house is meant for the camera (its popup), not the house.
  function videoAt(point) {
    const layers = ["cameras", "speakers"].filter((l) => map.getLayer(l) && map.getLayoutProperty(l, "visibility") !== "none");
    return layers.length > 0 && map.queryRenderedFeatures(point, { layers }).length > 0;
  }

  async function loadVideo() {
    if (!d.camerasUrl || !window.DoorstepAlarms) return null; // the page includes video/_broadcast.html
    try {
      const [cameras, speakers] = await Promise.all([getJSON(d.camerasUrl), getJSON(d.speakersUrl)]);
      return cameras.enabled ? { cameras, speakers } : null;
    } catch (err) {
      console.warn(err);
      return null;
    }
  }

  const videoUrl = (template, id) => template.replace("/0/", `/${id}/`);
  const make = (tag, className, text) => window.DoorstepAlarms.el(tag, className, text); // alarm-common.js

  function link(className, href, text) {
    const a = make("a", className, text);
    a.href = href;
    return a;
  }

  // The buttons under a camera's or a speaker's popup: its pages, and 广播喊话 to `speakers` when there are any.
  function popupActions(links, speakers, extra) {
    const actions = make("div", "d-flex gap-1 mt-2");
    for (const [href, text] of links) actions.append(link("btn btn-sm", href, text));
    if (mayBroadcast && speakers.length) {
      const b = make("button", "btn btn-sm btn-danger", d.labelBroadcast);
      b.type = "button";
      b.dataset.testid = "map-broadcast";
      b.addEventListener("click", () => window.DoorstepBroadcast && window.DoorstepBroadcast.open({ speakers, source: "map", ...extra }));
      actions.append(b);
    }
    return actions;
  }

  function popup(box, lngLat, options) {
    new maplibregl.Popup(options).setLngLat(lngLat).setDOMContent(box).addTo(map);
  }

  function cameraPopup(id, lngLat) {
    const p = cameraProps.get(id);
    if (!p) return;
    const box = make("div", "video-popup");
    box.dataset.testid = "camera-popup";
    const state = make("span", `badge ms-1 ${p.status === "offline" ? "bg-red-lt" : p.status === "online" ? "bg-green-lt" : "bg-secondary-lt"}`, p.status_label);
    const img = make("img");
    img.alt = d.labelNoPicture;
    img.src = `${videoUrl(d.cameraSnapshotUrl, id)}?t=${Date.now()}`;
    img.addEventListener("error", () => img.replaceWith(make("div", "small text-secondary", d.labelNoPicture)));
    box.append(make("strong", "", p.name), state, make("div", "small text-secondary mb-1", `${p.location} · ${p.hotspot_label}`), img);
    if (p.events > 0) {
      box.append(link("small text-danger fw-bold d-block mt-1", `${d.eventsUrl}?camera=${id}&status=new`, `${p.events} ${d.labelRecentEvents}`));
    }
    box.append(popupActions([[videoUrl(d.cameraUrl, id), d.labelDetail], [videoUrl(d.cameraWatchUrl, id), d.labelWatch]],
      p.speakers, { camera: id }));
    popup(box, lngLat, { maxWidth: "260px" });
  }

  function speakerPopup(id, lngLat) {
    const p = speakerProps.get(id);
    if (!p) return;
    const box = make("div");
    box.dataset.testid = "speaker-popup";
    const last = p.last_delivered === null ? d.labelNever : p.last_delivered ? d.labelDelivered : d.labelFailed;
    box.append(make("strong", "", p.name + (p.active ? "" : `（${d.labelInactive}）`)), make("div", "small", p.location),
      make("div", "small text-secondary", `${p.zone ? d.labelZone + " " + p.zone + " · " : ""}${p.driver_label} · ${last}`),
      popupActions([[videoUrl(d.speakerUrl, id), d.labelDetail]], p.active ? [id] : [], {}));
    popup(box, lngLat);
  }

  function showEvents(cameras, fresh) {
    const visible = document.getElementById("layer-cameras").checked;
    const seen = new Set();
    for (const f of cameras.features) {
      const p = f.properties;
      if (!(p.events > 0)) continue;
      seen.add(p.id);
      let marker = eventMarkers.get(p.id);
      if (!marker) {
        const node = make("div", "video-pulse");
        node.dataset.testid = "event-marker";
        node.append(make("span"));
        node.addEventListener("click", (e) => { e.stopPropagation(); cameraPopup(p.id, f.geometry.coordinates); });
        marker = new maplibregl.Marker({ element: node }).setLngLat(f.geometry.coordinates).addTo(map);
        eventMarkers.set(p.id, marker);
      }
      const node = marker.getElement();
      node.firstChild.textContent = p.events;
      node.title = `${p.name}：${p.events} ${d.labelRecentEvents}`;
      node.classList.toggle("fresh", fresh === p.id);
      node.hidden = !visible;
    }
    for (const [id, marker] of eventMarkers) if (!seen.has(id)) { marker.remove(); eventMarkers.delete(id); }
  }

  function keepCameras(cameras) {
    cameraProps.clear();
    for (const f of cameras.features) cameraProps.set(f.properties.id, f.properties);
  }

  function addVideoLayers(video) {
    if (!video) return;
    const { cameras, speakers } = video;
    mayBroadcast = !!cameras.may_broadcast;
    for (const node of document.querySelectorAll("[data-video-layer]")) node.hidden = false;
    keepCameras(cameras);
    for (const f of speakers.features) speakerProps.set(f.properties.id, f.properties);
    map.addSource("speakers", { type: "geojson", data: speakers });
    map.addSource("cameras", { type: "geojson", data: cameras });
    map.addLayer({ id: "speakers", type: "circle", source: "speakers",
      paint: { "circle-radius": 5.5, "circle-color": ["case", ["get", "active"], "#5f3dc4", "#adb5bd"],
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 } });
    map.addLayer({ id: "cameras", type: "circle", source: "cameras",
      paint: { "circle-radius": 7, "circle-color": CAMERA_COLOUR, "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 } });
    map.addLayer({ id: "cameras-label", type: "symbol", source: "cameras", minzoom: 15,
      layout: { "text-field": ["get", "name"], "text-font": font, "text-size": 11, "text-offset": [0, 1.2], "text-anchor": "top" },
      paint: { "text-color": "#0b5563", "text-halo-color": "#ffffff", "text-halo-width": 1.5 } });
    map.on("click", "cameras", (e) => cameraPopup(e.features[0].properties.id, e.features[0].geometry.coordinates));
    map.on("click", "speakers", (e) => {
      // A speaker mounted with a camera: the camera's popup (it offers the same speakers) is enough.
      if (map.getLayoutProperty("cameras", "visibility") !== "none" && map.queryRenderedFeatures(e.point, { layers: ["cameras"] }).length) return;
      speakerPopup(e.features[0].properties.id, e.features[0].geometry.coordinates);
    });
    for (const layer of ["cameras", "speakers"]) {
      map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
      map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
    }
    showEvents(cameras, null);
    document.getElementById("layer-cameras").addEventListener("change", (e) => {
      for (const marker of eventMarkers.values()) marker.getElement().hidden = !e.target.checked;
    });
    // Live: a motion event (new or handled) or a camera's status changes the layer; refetched, at most once a second.
    if (!cameras.features.length || !window.DoorstepBroadcast) return;
    let timer = null;
    let fresh = null;
    window.DoorstepBroadcast.onMessage((msg) => {
      if (msg.type !== "event" && msg.type !== "camera") return;
      if (msg.type === "event" && msg.payload.status === "new") fresh = msg.payload.camera.id;
      clearTimeout(timer);
      timer = setTimeout(async () => {
        try {
          const latest = await getJSON(d.camerasUrl);
          keepCameras(latest);
          map.getSource("cameras").setData(latest);
          showEvents(latest, fresh);
          fresh = null;
        } catch (err) { console.warn(err); }
      }, 1000);
    });
  }

  // --- proactive policing: patrol tracks, findings and the coverage of each grid (patrol/layers.py) -----------
  // Off until switched on, then fetched for the days chosen (7 or 30); opened from the 群防群治 board with
  // ?patrol=7|30 they start switched on. Coverage is a choropleth of each grid's share (0..1) under the houses;
  // the tracks follow the grid filter of the form.
  const PATROL_LAYERS = {
    "layer-patrol-tracks": ["patrol-tracks"],
    "layer-patrol-findings": ["patrol-findings"],
    "layer-patrol-coverage": ["patrol-coverage", "patrol-coverage-line"],
  };
  const FINDING_COLOUR = ["match", ["get", "kind"], "hazard", "#f59f00", "suspicious", "#d63939", "dispute", "#ae3ec9",
    "incident", "#c92a2a", "#e8590c"];
  let patrolLoaded = null; // the promise of the layers, added once
  const styleLoaded = new Promise((resolve) => map.once("load", resolve));
  let patrolFetched = ""; // the query of the data in the sources

  function patrolQuery() {
    const days = document.getElementById("patrol-days").value === "30" ? "30" : "7";
    const grid = form.elements.grid && form.elements.grid.value;
    return { days, grid: grid ? `&grid=${encodeURIComponent(grid)}` : "" };
  }

  function text(tag, className, value) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    node.textContent = value;
    return node;
  }

  function anchor(href, value) {
    const a = text("a", "small d-block", value);
    a.href = href;
    return a;
  }

  async function fetchPatrol() {
    const { days, grid } = patrolQuery();
    const key = days + grid;
    if (key === patrolFetched) return;
    const [tracks, findings, cover] = await Promise.all([
      getJSON(`${d.patrolTracksUrl}?days=${days}${grid}`), getJSON(`${d.patrolFindingsUrl}?days=${days}`),
      getJSON(`${d.patrolCoverageUrl}?days=${days}`),
    ]);
    map.getSource("patrol-tracks").setData(tracks);
    map.getSource("patrol-findings").setData(findings);
    map.getSource("patrol-coverage").setData(cover);
    patrolFetched = key;
  }

  function addPatrolLayers() {
    const empty = { type: "FeatureCollection", features: [] };
    for (const id of ["patrol-tracks", "patrol-findings", "patrol-coverage"]) map.addSource(id, { type: "geojson", data: empty });
    const shown = (id) => (document.getElementById(id).checked ? "visible" : "none");
    const under = map.getLayer("house-cells") ? "house-cells" : undefined;
    map.addLayer({ id: "patrol-coverage", type: "fill", source: "patrol-coverage", layout: { visibility: shown("layer-patrol-coverage") },
      paint: { "fill-opacity": 0.55, "fill-color": ["interpolate", ["linear"], ["get", "share"],
        0, "#e9ecef", 0.25, "#b2f2bb", 0.5, "#69db7c", 0.75, "#37b24d", 1, "#2b8a3e"] } }, under);
    map.addLayer({ id: "patrol-coverage-line", type: "line", source: "patrol-coverage", layout: { visibility: shown("layer-patrol-coverage") },
      paint: { "line-color": "#2b8a3e", "line-width": 0.8 } }, under);
    map.addLayer({ id: "patrol-tracks", type: "line", source: "patrol-tracks",
      layout: { visibility: shown("layer-patrol-tracks"), "line-cap": "round", "line-join": "round" },
      paint: { "line-color": ["case", ["==", ["get", "status"], "running"], "#f76707", "#1971c2"], "line-width": 3, "line-opacity": 0.85 } });
    map.addLayer({ id: "patrol-findings", type: "circle", source: "patrol-findings", layout: { visibility: shown("layer-patrol-findings") },
      paint: { "circle-radius": 6, "circle-color": FINDING_COLOUR, "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
    map.on("click", "patrol-tracks", (e) => {
      const p = e.features[0].properties;
      const box = document.createElement("div");
      box.dataset.testid = "patrol-track-popup";
      box.append(text("strong", "", `${d.labelPatrol} ${String(p.started_at).slice(0, 16).replace("T", " ")}`),
        text("div", "small", `${(Number(p.distance_m) / 1000).toFixed(2)} ${d.labelKm}` + (p.status === "running" ? ` · ${d.labelPatrolRunning}` : "")));
      if (p.url) box.append(anchor(p.url, "→"));
      new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(box).addTo(map);
    });
    map.on("click", "patrol-findings", (e) => {
      const p = e.features[0].properties;
      const box = document.createElement("div");
      box.dataset.testid = "patrol-finding-popup";
      box.append(text("strong", "", `${d.labelFinding}：${p.kind_label}`), text("div", "small", String(p.at).slice(0, 16).replace("T", " ")));
      if (p.url) box.append(anchor(p.url, "→"));
      new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(box).addTo(map);
    });
    map.on("click", "patrol-coverage", (e) => {
      if (map.queryRenderedFeatures(e.point, { layers: ["patrol-tracks", "patrol-findings"] }).length) return;
      const p = e.features[0].properties;
      const box = document.createElement("div");
      box.dataset.testid = "patrol-coverage-popup";
      box.append(text("strong", "", `${p.community} · ${p.name}`),
        text("div", "small", `${d.labelCoverage} ${Math.round(Number(p.share) * 100)}% · ${p.patrols} ${d.labelPatrols}`),
        text("div", "small", `${Number(p.hours).toFixed(1)} ${d.labelHours} · ${Number(p.km).toFixed(1)} ${d.labelKm}`));
      new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(box).addTo(map);
    });
    for (const layer of ["patrol-tracks", "patrol-findings"]) {
      map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
      map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
    }
  }

  // The layers once (after the map's style has loaded), then the data for the current days and grid.
  async function showPatrol() {
    if (!patrolLoaded) {
      patrolLoaded = styleLoaded.then(addPatrolLayers);
    }
    await patrolLoaded;
    await fetchPatrol();
  }

  function anyPatrolOn() {
    return Object.keys(PATROL_LAYERS).some((id) => document.getElementById(id).checked);
  }

  async function refreshPatrol() {
    if (!anyPatrolOn()) return;
    try { await showPatrol(); } catch (err) { status.textContent = d.labelError; console.error(err); }
  }

  if (d.patrolTracksUrl) {
    for (const [id, layers] of Object.entries(PATROL_LAYERS)) {
      document.getElementById(id).addEventListener("change", async (e) => {
        if (e.target.checked) await refreshPatrol();
        for (const l of layers) if (map.getLayer(l)) map.setLayoutProperty(l, "visibility", e.target.checked ? "visible" : "none");
      });
    }
    document.getElementById("patrol-days").addEventListener("change", refreshPatrol);
    form.addEventListener("change", (e) => { if (e.target.name === "grid") refreshPatrol(); });
    refreshPatrol(); // switched on by ?patrol=7|30
  }

  // --- evaluation: one KPI per grid (evaluation/layers.py) ---------------------------------------------------
  // Off until switched on, then fetched for the KPI and period chosen (kind + a date in it; default: the
  // current month). A choropleth under the houses:
  // green where the target is met, red below it, grey without a value (or without a target).
  const EVALUATION_LAYERS = ["evaluation-kpi-fill", "evaluation-kpi-line"];
  let evaluationLoaded = null; // the promise of the layers, added once
  let evaluationFetched = ""; // the KPI of the data in the source

  function addEvaluationLayers() {
    map.addSource("evaluation-kpi", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    const under = map.getLayer("house-cells") ? "house-cells" : undefined;
    const met = ["case", ["==", ["get", "met"], true], "#2f9e44", ["==", ["get", "met"], false], "#e03131", "#adb5bd"];
    map.addLayer({ id: "evaluation-kpi-fill", type: "fill", source: "evaluation-kpi", layout: { visibility: "visible" },
      paint: { "fill-opacity": 0.5, "fill-color": met } }, under);
    map.addLayer({ id: "evaluation-kpi-line", type: "line", source: "evaluation-kpi", layout: { visibility: "visible" },
      paint: { "line-color": met, "line-width": 1 } }, under);
    map.on("click", "evaluation-kpi-fill", (e) => {
      const layers = ["patrol-tracks", "patrol-findings"].filter((l) => map.getLayer(l));
      if (layers.length && map.queryRenderedFeatures(e.point, { layers }).length) return;
      const p = e.features[0].properties;
      const kpi = document.getElementById("evaluation-kpi");
      const box = document.createElement("div");
      box.dataset.testid = "evaluation-kpi-popup";
      box.append(text("strong", "", `${p.community} · ${p.name}`),
        text("div", "small", `${kpi.options[kpi.selectedIndex].text}：${p.text}`),
        text("div", "small text-secondary", `${d.labelTarget} ${p.target_text}`));
      if (p.records) box.append(anchor(p.records, d.labelRecords));
      new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(box).addTo(map);
    });
  }

  async function refreshEvaluation() {
    if (!document.getElementById("layer-evaluation").checked) return;
    try {
      if (!evaluationLoaded) evaluationLoaded = styleLoaded.then(addEvaluationLayers);
      await evaluationLoaded;
      const code = document.getElementById("evaluation-kpi").value;
      const kind = document.getElementById("evaluation-kind").value;
      const day = document.getElementById("evaluation-date").value; // "" = the current period of the kind
      const query = new URLSearchParams({ code, kind });
      if (day) query.set("period", day);
      const key = query.toString();
      if (key === evaluationFetched) return;
      const data = await getJSON(`${d.evaluationUrl}?${key}`);
      map.getSource("evaluation-kpi").setData(data);
      document.getElementById("evaluation-period-label").textContent = data.period_label || "";
      evaluationFetched = key;
    } catch (err) { status.textContent = d.labelError; console.error(err); }
  }

  if (d.evaluationUrl) {
    document.getElementById("layer-evaluation").addEventListener("change", async (e) => {
      if (e.target.checked) await refreshEvaluation();
      for (const l of EVALUATION_LAYERS) if (map.getLayer(l)) map.setLayoutProperty(l, "visibility", e.target.checked ? "visible" : "none");
    });
    for (const id of ["evaluation-kpi", "evaluation-kind", "evaluation-date"]) {
      document.getElementById(id).addEventListener("change", refreshEvaluation);
    }
  }

  function toggle(id, layers) {
    document.getElementById(id).addEventListener("change", (e) => {
      for (const l of layers) if (map.getLayer(l)) map.setLayoutProperty(l, "visibility", e.target.checked ? "visible" : "none");
    });
  }
  toggle("layer-houses", ["houses-3d", "house-cells"]);
  toggle("layer-grids", ["grids-fill", "grids-line", "grids-label"]);
  toggle("layer-rooms", ["rooms", "rooms-label"]);
  toggle("layer-units", ["units", "units-alarm", "units-label"]);
  toggle("layer-cameras", ["cameras", "cameras-label"]);
  toggle("layer-speakers", ["speakers"]);
  document.getElementById("toggle-3d").addEventListener("click", () => {
    map.easeTo({ pitch: map.getPitch() > 0 ? 0 : 55, bearing: map.getPitch() > 0 ? 0 : -20 });
  });
})();
