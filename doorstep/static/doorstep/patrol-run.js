// Patrol pages. The live page (#patrol-live): navigator.geolocation.watchPosition while the page is open;
// every fix gets a sequence number and waits in a queue kept in memory and in localStorage (a reload or a
// crash loses nothing); the queue is posted in batches every ~10 s and retried until the server has it (the
// server ignores a sequence number it already stored). The finding form shows the party names for a dispute
// handed over and carries the last fix. The record page (#patrol-map): the track, flagged points, findings
// and the area on a small MapLibre map (vendored; nothing is loaded from outside the server).
(function () {
  "use strict";

  // --- live page ------------------------------------------------------------------------------------------
  function runLive(root) {
    const d = root.dataset;
    const id = d.patrol;
    const KEY = "doorstep.patrol." + id;
    const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
    const els = {
      elapsed: document.getElementById("live-elapsed"),
      distance: document.getElementById("live-distance"),
      points: document.getElementById("live-points"),
      waiting: document.getElementById("live-waiting"),
      status: document.getElementById("live-status"),
    };
    const started = new Date(d.started).getTime();
    const interval = Number(d.interval) || 10000;
    const MIN_GAP_MS = 2000; // fixes closer in time than this are not queued (watchPosition can fire often)
    const BATCH = 200;

    // Keys of earlier patrols are left-overs: the server no longer takes their points.
    try {
      for (let i = localStorage.length - 1; i >= 0; i--) {
        const k = localStorage.key(i);
        if (k && k.startsWith("doorstep.patrol.") && k !== KEY) localStorage.removeItem(k);
      }
    } catch (e) { /* storage disabled: the queue lives in memory only */ }

    let state = { seq: 0, queue: [] };
    try {
      const saved = JSON.parse(localStorage.getItem(KEY) || "null");
      if (saved && Array.isArray(saved.queue)) state = saved;
    } catch (e) { /* a broken entry is replaced */ }
    // The server knows the highest sequence it stored: never reuse one (it would be ignored as a re-send).
    state.seq = Math.max(Number(state.seq) || 0, (Number(d.nextSeq) || 1) - 1);
    let lastAt = state.queue.length ? state.queue[state.queue.length - 1].t : 0;
    let sending = null;

    function save() {
      try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* full or disabled */ }
    }

    function showWaiting() { els.waiting.textContent = String(state.queue.length); }
    function say(text, bad) {
      els.status.textContent = text;
      els.status.className = "mt-2 small " + (bad ? "text-danger" : "text-secondary");
    }

    function tick() {
      const s = Math.max(0, Math.floor((Date.now() - started) / 1000));
      const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
      els.elapsed.textContent = (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
    }

    const lngInput = document.getElementById("id_lng");
    const latInput = document.getElementById("id_lat");

    function onFix(pos) {
      const c = pos.coords;
      const t = pos.timestamp || Date.now();
      if (lngInput && latInput) { lngInput.value = c.longitude.toFixed(6); latInput.value = c.latitude.toFixed(6); }
      say(d.lTracking + (c.accuracy ? "（±" + Math.round(c.accuracy) + " m）" : ""), false);
      if (t - lastAt < MIN_GAP_MS) return;
      lastAt = t;
      state.seq += 1;
      state.queue.push({
        seq: state.seq,
        at: new Date(t).toISOString(),
        lng: c.longitude,
        lat: c.latitude,
        accuracy: c.accuracy === null || c.accuracy === undefined ? null : c.accuracy,
        t,
      });
      save();
      showWaiting();
      if (state.seq === 1 || state.queue.length === 1) setTimeout(flush, 1000); // the first fix shows up soon
    }

    function onError(err) {
      const messages = { 1: d.lDenied, 2: d.lUnavailable, 3: d.lTimeout };
      say(messages[err.code] || d.lUnavailable, true);
    }

    function flush() {
      if (sending) return sending;
      if (!state.queue.length) return Promise.resolve(true);
      // After a refused batch the same points go one at a time, so only the bad one is dropped.
      const batch = state.queue.slice(0, state.singles > 0 ? 1 : BATCH);
      const body = JSON.stringify({ points: batch.map(({ t, ...p }) => p) });
      sending = fetch(d.pointsUrl, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      })
        .then((r) => r.json().catch(() => ({})).then((data) => ({ status: r.status, data })))
        .then(({ status, data }) => {
          const sent = new Set(batch.map((p) => p.seq));
          if (batch.length === 1 && state.singles > 0 && status !== 0) state.singles -= 1;
          if (status >= 200 && status < 300) {
            state.queue = state.queue.filter((p) => !sent.has(p.seq));
            if (typeof data.distance_m === "number") els.distance.textContent = String(data.distance_m);
            if (typeof data.points === "number") els.points.textContent = String(data.points);
            say(d.lTracking, false);
          } else if (status === 400 && batch.length > 1) {
            // One bad point refuses the batch: resend these points one by one to find it, lose no other.
            state.singles = batch.length;
            say(data.detail || d.lOffline, true);
          } else if (status === 400) {
            // A point the server will never take (e.g. a phone clock far off): drop it alone, say why.
            state.queue = state.queue.filter((p) => !sent.has(p.seq));
            say(data.detail || d.lOffline, true);
          } else if (status === 409 || status === 403 || status === 404) {
            state.queue = []; // the patrol is over or not ours: nothing left to send
            say(data.detail || d.lOffline, true);
          } else {
            say(d.lOffline, true);
          }
          save();
          showWaiting();
          if (state.singles > 0 && state.queue.length && status < 500) setTimeout(flush, 300);
          return status < 500;
        })
        .catch(() => { say(d.lOffline, true); return false; })
        .finally(() => { sending = null; });
      return sending;
    }

    showWaiting();
    tick();
    setInterval(tick, 1000);
    setInterval(flush, interval);
    window.addEventListener("online", flush);
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flush(); });

    if (!navigator.geolocation) {
      say(d.lUnsupported, true);
    } else {
      say(d.lLocating, false);
      navigator.geolocation.watchPosition(onFix, onError, { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    }
    if (state.queue.length) flush();

    // Finishing: send what is waiting first, so the record has the whole track.
    const finish = document.getElementById("finish-form");
    if (finish) {
      let submitting = false;
      finish.addEventListener("submit", (ev) => {
        if (submitting) return;
        ev.preventDefault();
        submitting = true;
        say(d.lFinishing, false);
        const done = () => { finish.submit(); };
        (sending || Promise.resolve()).then(flush).then(done, done);
      });
    }
  }

  // --- finding form: the party names only matter for a dispute handed over --------------------------------
  function findingForm(form) {
    const kind = form.querySelector("[name=kind]");
    const hand = form.querySelector("[name=hand_over]");
    const parties = document.getElementById("finding-parties");
    if (!kind || !hand || !parties) return;
    const update = () => { parties.hidden = !(kind.value === "dispute" && hand.checked); };
    kind.addEventListener("change", update);
    hand.addEventListener("change", update);
    update();
  }

  // --- record page map -----------------------------------------------------------------------------------
  function readJSON(id) {
    const el = document.getElementById(id);
    try { return el ? JSON.parse(el.textContent) : null; } catch (e) { return null; }
  }

  function drawMap(el) {
    const d = el.dataset;
    const track = readJSON("patrol-track") || { type: "MultiLineString", coordinates: [] };
    const flagged = readJSON("patrol-flagged") || { type: "FeatureCollection", features: [] };
    const findings = readJSON("patrol-findings") || { type: "FeatureCollection", features: [] };
    const area = readJSON("patrol-area");
    const bounds = new maplibregl.LngLatBounds();
    const extend = (c) => { if (Array.isArray(c) && typeof c[0] === "number") bounds.extend(c); else if (Array.isArray(c)) c.forEach(extend); };
    extend(track.coordinates);
    findings.features.forEach((f) => extend(f.geometry.coordinates));
    if (bounds.isEmpty() && area) extend(area.coordinates);
    const map = new maplibregl.Map({
      container: el,
      style: d.styleUrl,
      ...(bounds.isEmpty() ? { center: d.center.split(",").map(Number), zoom: 14 }
        : { bounds, fitBoundsOptions: { padding: 30, maxZoom: 17 } }),
      attributionControl: false,
      localIdeographFontFamily: "'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif",
    });
    window.doorstepPatrolMap = map; // for the browser test
    map.on("error", (e) => {
      const err = e.error || {};
      if (err.name === "AbortError" || /abort/i.test(err.message || "")) return;
      console.error("map:", err.status || "", err.url || "", err.message || err);
    });
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    map.on("load", () => {
      if (area) {
        map.addSource("area", { type: "geojson", data: { type: "Feature", geometry: area, properties: {} } });
        if (area.type === "Polygon" || area.type === "MultiPolygon") {
          map.addLayer({ id: "area-fill", type: "fill", source: "area", paint: { "fill-color": "#206bc4", "fill-opacity": 0.06 } });
        }
        map.addLayer({ id: "area-line", type: "line", source: "area", paint: { "line-color": "#868e96", "line-width": 1.5, "line-dasharray": [2, 2] } });
      }
      map.addSource("track", { type: "geojson", data: { type: "Feature", geometry: track, properties: {} } });
      map.addLayer({ id: "track", type: "line", source: "track", layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": "#206bc4", "line-width": 4 } });
      map.addSource("flagged", { type: "geojson", data: flagged });
      map.addLayer({
        id: "flagged", type: "circle", source: "flagged",
        paint: {
          "circle-radius": 4, "circle-stroke-width": 1, "circle-stroke-color": "#fff",
          "circle-color": ["match", ["get", "flag"], "inaccurate", "#f59f00", "jump", "#d63939", "outside", "#ae3ec9", "#868e96"],
        },
      });
      map.addSource("findings", { type: "geojson", data: findings });
      map.addLayer({ id: "findings", type: "circle", source: "findings", paint: { "circle-radius": 7, "circle-color": "#2fb344", "circle-stroke-width": 2, "circle-stroke-color": "#fff" } });
      map.on("click", "flagged", (e) => {
        const p = e.features[0].properties;
        new maplibregl.Popup().setLngLat(e.lngLat).setText(p.label + " #" + p.seq).addTo(map);
      });
      map.on("click", "findings", (e) => {
        new maplibregl.Popup().setLngLat(e.lngLat).setText(e.features[0].properties.label).addTo(map);
      });
      el.dataset.ready = "1";
    });
  }

  const live = document.getElementById("patrol-live");
  if (live) runLive(live);
  const finding = document.getElementById("finding-form");
  if (finding) findingForm(finding);
  const mapEl = document.getElementById("patrol-map");
  if (mapEl && window.maplibregl) drawMap(mapEl);
})();
