// The territory map: grid boundaries with labels and police rooms, on the offline style (MapLibre GL, vendored).
(function () {
  const el = document.getElementById("map");
  if (!el || !window.maplibregl) return;
  const status = document.getElementById("map-status");
  const font = [el.dataset.font];
  const center = el.dataset.center.split(",").map(Number);
  const map = new maplibregl.Map({
    container: el,
    style: el.dataset.styleUrl,
    center: center,
    zoom: 11,
    // CJK ideographs are drawn with the browser's local fonts; only Latin/digit glyph ranges ship as PBF.
    localIdeographFontFamily: "'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif",
    attributionControl: false,
  });
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + " → " + response.status);
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

  map.on("load", async () => {
    try {
      const [grids, rooms] = await Promise.all([getJSON(el.dataset.gridsUrl), getJSON(el.dataset.roomsUrl)]);
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
      map.addLayer({ id: "grids-fill", type: "fill", source: "grids",
        paint: { "fill-color": "#206bc4", "fill-opacity": ["case", ["boolean", ["feature-state", "hover"], false], 0.25, 0.08] } });
      map.addLayer({ id: "grids-line", type: "line", source: "grids", paint: { "line-color": "#206bc4", "line-width": 1.2 } });
      map.addLayer({ id: "grids-label", type: "symbol", source: "grid-labels", minzoom: 11,
        layout: { "text-field": ["get", "name"], "text-font": font, "text-size": 12 },
        paint: { "text-color": "#1d3557", "text-halo-color": "#ffffff", "text-halo-width": 1.5 } });
      map.addLayer({ id: "rooms", type: "circle", source: "rooms",
        paint: { "circle-radius": 6, "circle-color": "#d63939", "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
      map.addLayer({ id: "rooms-label", type: "symbol", source: "rooms", minzoom: 12,
        layout: { "text-field": ["get", "name"], "text-font": font, "text-size": 12, "text-offset": [0, 1.2], "text-anchor": "top" },
        paint: { "text-color": "#a61e1e", "text-halo-color": "#ffffff", "text-halo-width": 1.5 } });

      const focus = el.dataset.focus ? el.dataset.focus.split(",").map(Number) : null;
      if (focus) map.fitBounds([[focus[0], focus[1]], [focus[2], focus[3]]], { padding: 40, duration: 0 });
      else if (grids.features.length) map.fitBounds(bounds(grids), { padding: 30, duration: 0 });
      else if (rooms.features.length) map.fitBounds(bounds(rooms), { padding: 60, duration: 0, maxZoom: 15 });

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
        phone.textContent = `${el.dataset.labelPhone}：${p.phone} · ${p.hours}`;
        box.append(title, address, phone);
        new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(box).addTo(map);
      });
      map.on("click", "grids-fill", (e) => {
        if (map.queryRenderedFeatures(e.point, { layers: ["rooms"] }).length) return;
        const p = e.features[0].properties;
        window.location.href = `/org/grids/${p.id}/`;
      });
      for (const layer of ["rooms", "grids-fill"]) {
        map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
        map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
      }
      status.textContent = `${el.dataset.labelGrid} ${grids.features.length} · ${el.dataset.labelRoom} ${rooms.features.length}`;
      el.dataset.ready = "1";
    } catch (err) {
      status.textContent = String(err);
      console.error(err);
    }
  });

  function toggle(id, layers) {
    document.getElementById(id).addEventListener("change", (e) => {
      for (const l of layers) if (map.getLayer(l)) map.setLayoutProperty(l, "visibility", e.target.checked ? "visible" : "none");
    });
  }
  toggle("layer-grids", ["grids-fill", "grids-line", "grids-label"]);
  toggle("layer-rooms", ["rooms", "rooms-label"]);
  document.getElementById("toggle-3d").addEventListener("click", () => {
    map.easeTo({ pitch: map.getPitch() > 0 ? 0 : 55, bearing: map.getPitch() > 0 ? 0 : -20 });
  });
})();
