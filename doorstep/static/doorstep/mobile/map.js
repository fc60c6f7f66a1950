// The workspace's map tab (#tab-map): the officer's grids (boundary line and a light fill) and their houses as
// red/yellow/green circles from GET /m/api/grid, loaded the first time the tab is shown; a tap on a house shows
// its address. While the tab is shown the phone's position is watched and drawn as a blue dot with its accuracy
// circle; "定位到我" flies there. MapLibre GL (vendored) on a plain background, the internal tile server's base
// map when one is configured (the same /map/style.json the desktop map uses) — nothing from outside the server.
//
// Coordinates: Doorstep keeps and draws everything in WGS-84 (doorstep/core/geo.py converts GCJ-02/BD-09 input
// to WGS-84 on the way in; the desktop map draws the stored points as they are), and a browser's GPS fix is
// WGS-84 too, so the fix is drawn untransformed, on the same datum as the houses.
(function () {
  "use strict";

  const L = {
    loading: "地图加载中…",
    offline: "离线时无法加载地图",
    offline_cached: "离线：显示上次加载的网格",
    error: "地图加载失败，请稍后重试",
    locate: "定位到我",
    locating: "正在定位…",
    no_fix: "无法获取位置",
    denied: "未允许定位，请在浏览器设置中允许",
    accuracy: "精度约",
    metres: "米",
    houses: "房屋",
    no_houses: "网格内暂无房屋",
    truncated: "房屋较多，地图只显示其中一部分",
    legend: { red: "重点户", yellow: "关注户", green: "放心户" },
  };
  const COLOURS = { red: "#d63939", yellow: "#f59f00", green: "#2fb344" };
  const ME = "#1c7ed6";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // The vendored MapLibre, at the exact static URLs the shell names (hashed in production, so the service
  // worker's precache serves them offline); loaded only when the map is first shown: the other tabs stay light.
  const MAPLIBRE_JS = document.body.dataset.maplibreJs;
  const MAPLIBRE_CSS = document.body.dataset.maplibreCss;
  let library = null;
  function loadLibrary() {
    if (window.maplibregl) return Promise.resolve(window.maplibregl);
    if (library) return library;
    library = new Promise((resolve, reject) => {
      if (!document.querySelector("link[data-maplibre]")) {
        const css = document.createElement("link");
        css.rel = "stylesheet";
        css.href = MAPLIBRE_CSS;
        css.dataset.maplibre = "1";
        document.head.append(css);
      }
      const script = document.createElement("script");
      script.src = MAPLIBRE_JS;
      script.onload = () => resolve(window.maplibregl);
      script.onerror = () => { library = null; reject(new Error("maplibre-gl")); };
      document.head.append(script);
    });
    return library;
  }

  // --- /m/api/grid: {grids, houses} as FeatureCollections ------------------------------------------------
  function featureCollection(value) {
    return value && value.type === "FeatureCollection" ? value : { type: "FeatureCollection", features: [] };
  }

  function boundsOf(collections) {
    let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
    const visit = (c) => {
      if (typeof c[0] === "number") {
        w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
      } else for (const x of c) visit(x);
    };
    for (const fc of collections) for (const f of fc.features) if (f.geometry) visit(f.geometry.coordinates);
    return w === Infinity ? null : [[w, s], [e, n]];
  }

  // A circle of `metres` around (lng, lat) as a polygon: the accuracy of the fix, to scale at any zoom.
  function circle(lng, lat, metres) {
    const points = [];
    const dLat = metres / 111320;
    const dLng = metres / (111320 * Math.cos((lat * Math.PI) / 180));
    for (let i = 0; i <= 64; i++) {
      const a = (i / 64) * 2 * Math.PI;
      points.push([lng + dLng * Math.cos(a), lat + dLat * Math.sin(a)]);
    }
    return { type: "Feature", geometry: { type: "Polygon", coordinates: [points] }, properties: {} };
  }

  function setup() {
    const root = document.getElementById("tab-map");
    const M = window.DoorstepMobile;
    if (!root || !M) return;
    Object.assign(L, readLabels());

    const box = el("div", "map-part");
    const canvas = el("div", "map-canvas-mobile");
    canvas.dataset.testid = "mobile-map";
    const status = el("div", "map-part-status");
    status.setAttribute("aria-live", "polite");
    status.dataset.testid = "map-status";
    const locate = el("button", "btn btn-primary map-locate", L.locate);
    locate.type = "button";
    locate.dataset.testid = "map-locate";
    const fix = el("div", "map-fix");
    fix.dataset.testid = "map-fix";
    const legend = el("div", "map-legend");
    for (const c of ["red", "yellow", "green"]) {
      const item = el("span", "map-legend-item");
      item.append(el("span", `colour-dot colour-${c}`), document.createTextNode(L.legend[c]));
      legend.append(item);
    }
    box.append(canvas, locate, status, fix, legend);
    root.append(box);

    let map = null;
    let ready = null; // resolves once the style and our layers are in
    let data = null; // the last /m/api/grid answer, kept in memory for offline use (never stored)
    let watch = null;
    let me = null; // the last fix {lng, lat, accuracy}
    let shown = false;
    let followOnce = false;

    function say(text, cls) {
      status.className = "map-part-status" + (cls ? " " + cls : "");
      status.textContent = text || "";
      status.hidden = !text;
    }

    // True while the page reloads the map by itself (back online): its requests carry the background header.
    let automatic = false;
    async function style() {
      const plain = {
        version: 8,
        name: "doorstep-offline",
        sources: {},
        layers: [{ id: "background", type: "background", paint: { "background-color": "#eef1f4" } }],
      };
      if (navigator.onLine === false) return plain;
      try {
        // The server's offline style: the internal tile server's base map when one is configured.
        const headers = { Accept: "application/json" };
        if (automatic) headers["X-Doorstep-Background"] = "1"; // not the officer's activity (app.js api())
        const response = await fetch("/map/style.json", { credentials: "same-origin", headers });
        if (!response.ok || response.redirected) return plain;
        const server = await response.json();
        return server && server.version === 8 ? server : plain;
      } catch (err) {
        return plain;
      }
    }

    async function createMap() {
      const maplibregl = await loadLibrary();
      map = new maplibregl.Map({
        container: canvas,
        style: await style(),
        center: [118.6, 24.9],
        zoom: 12,
        attributionControl: false,
        pitchWithRotate: false,
        dragRotate: false,
      });
      window.doorstepMobileMap = map; // for the browser tests
      map.touchZoomRotate.disableRotation();
      map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
      map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
      map.on("error", (e) => {
        const err = e.error || {};
        if (err.name === "AbortError" || /abort/i.test(err.message || "")) return;
        console.warn("map:", err.status || "", err.message || err);
      });
      await new Promise((resolve) => (map.loaded() ? resolve() : map.once("load", resolve)));
      const empty = { type: "FeatureCollection", features: [] };
      map.addSource("grid", { type: "geojson", data: empty });
      map.addSource("houses", { type: "geojson", data: empty });
      map.addSource("me-accuracy", { type: "geojson", data: empty });
      map.addSource("me", { type: "geojson", data: empty });
      map.addLayer({ id: "grid-fill", type: "fill", source: "grid", paint: { "fill-color": "#206bc4", "fill-opacity": 0.06 } });
      map.addLayer({ id: "grid-line", type: "line", source: "grid", paint: { "line-color": "#206bc4", "line-width": 2 } });
      map.addLayer({ id: "houses", type: "circle", source: "houses",
        paint: {
          "circle-color": ["match", ["get", "colour"], "red", COLOURS.red, "yellow", COLOURS.yellow, COLOURS.green],
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 4, 16, 8, 18, 12],
          "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5,
        } });
      map.addLayer({ id: "me-accuracy", type: "fill", source: "me-accuracy", paint: { "fill-color": ME, "fill-opacity": 0.15 } });
      map.addLayer({ id: "me-accuracy-line", type: "line", source: "me-accuracy", paint: { "line-color": ME, "line-width": 1, "line-opacity": 0.5 } });
      map.addLayer({ id: "me", type: "circle", source: "me",
        paint: { "circle-color": ME, "circle-radius": 7, "circle-stroke-color": "#ffffff", "circle-stroke-width": 2.5 } });
      const popup = new maplibregl.Popup({ closeButton: false, maxWidth: "260px", offset: 10 });
      map.on("click", "houses", (e) => {
        const f = e.features && e.features[0];
        if (!f) return;
        const text = f.properties.address || f.properties.label || "";
        popup.setLngLat(f.geometry.coordinates).setText(text).addTo(map);
        popup.getElement().dataset.testid = "map-house-popup";
      });
      map.on("mouseenter", "houses", () => { map.getCanvas().style.cursor = "pointer"; });
      map.on("mouseleave", "houses", () => { map.getCanvas().style.cursor = ""; });
      root.dataset.mapReady = "1";
    }

    function draw() {
      if (!map || !data) return;
      const grids = featureCollection(data.grids);
      const houses = featureCollection(data.houses);
      map.getSource("grid").setData(grids);
      map.getSource("houses").setData(houses);
      const b = boundsOf([grids, houses]);
      if (b) map.fitBounds(b, { padding: 30, duration: 0, maxZoom: 17 });
      if (!houses.features.length) say(L.no_houses, "text-secondary");
      else if (data.truncated) say(L.truncated, "text-secondary");
      root.dataset.gridLoaded = "1";
    }

    async function loadGrid() {
      if (navigator.onLine === false) {
        if (data) { say(L.offline_cached, "text-warning"); draw(); } else say(L.offline, "text-warning");
        return;
      }
      say(L.loading, "text-secondary");
      try {
        data = await M.api("/m/api/grid", { background: automatic });
        say("");
        draw();
      } catch (err) {
        if (data) { say(L.offline_cached, "text-warning"); draw(); }
        else say(navigator.onLine === false || !err.status ? L.offline : err.detail || L.error, "text-danger");
      }
    }

    function ensure() {
      if (ready) return ready;
      ready = (async () => {
        say(L.loading, "text-secondary");
        try {
          await createMap();
        } catch (err) {
          // Without MapLibre (not cached by the service worker yet and no signal) there is nothing to draw on.
          say(navigator.onLine === false ? L.offline : L.error, navigator.onLine === false ? "text-warning" : "text-danger");
          throw err;
        }
      })();
      ready.catch(() => { ready = null; });
      return ready;
    }

    function showMe() {
      if (!map || !me || !map.getSource("me")) return;
      map.getSource("me").setData({ type: "FeatureCollection",
        features: [{ type: "Feature", geometry: { type: "Point", coordinates: [me.lng, me.lat] }, properties: {} }] });
      map.getSource("me-accuracy").setData({ type: "FeatureCollection",
        features: me.accuracy ? [circle(me.lng, me.lat, me.accuracy)] : [] });
      fix.textContent = me.accuracy ? `${L.accuracy} ${Math.round(me.accuracy)} ${L.metres}` : "";
      root.dataset.ownPosition = `${me.lng.toFixed(6)},${me.lat.toFixed(6)}`;
      if (followOnce) {
        followOnce = false;
        map.easeTo({ center: [me.lng, me.lat], zoom: Math.max(map.getZoom(), 16), duration: 600 });
      }
    }

    function onFix(pos) {
      me = { lng: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy };
      showMe();
    }
    function onFixError(err) {
      fix.textContent = err && err.code === 1 ? L.denied : L.no_fix;
    }

    function startWatch() {
      if (watch !== null || !navigator.geolocation) return;
      watch = navigator.geolocation.watchPosition(onFix, onFixError,
        { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 });
    }
    function stopWatch() {
      if (watch === null) return;
      navigator.geolocation.clearWatch(watch);
      watch = null;
    }

    locate.addEventListener("click", () => {
      if (me && map) {
        map.easeTo({ center: [me.lng, me.lat], zoom: Math.max(map.getZoom(), 16), duration: 600 });
        return;
      }
      followOnce = true;
      fix.textContent = L.locating;
      if (!navigator.geolocation) { fix.textContent = L.no_fix; return; }
      navigator.geolocation.getCurrentPosition(onFix, onFixError, { enableHighAccuracy: true, timeout: 20000, maximumAge: 10000 });
      startWatch();
    });

    async function show() {
      shown = true;
      startWatch();
      try {
        await ensure();
      } catch (err) {
        return;
      }
      if (!shown) return;
      map.resize();
      if (!data || root.dataset.gridLoaded !== "1") await loadGrid();
      showMe();
    }
    function hide() {
      shown = false;
      stopWatch();
    }

    const visible = () => root.offsetParent !== null && !root.hidden;
    if (M.on) {
      M.on("tab", (name) => (name === "map" ? show() : hide()));
      M.on("online", () => {
        if (!shown || data) return;
        automatic = true;
        show().finally(() => { automatic = false; });
      });
      M.on("offline", () => { if (shown && !data) say(L.offline, "text-warning"); });
    }
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) stopWatch();
      else if (shown) startWatch();
    });
    if (visible()) show();
  }

  function readLabels() {
    const node = document.getElementById("map-labels");
    if (!node) return {};
    try { return JSON.parse(node.textContent); } catch (err) { return {}; }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
