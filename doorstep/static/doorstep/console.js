// The dispatch console: the open alarms and device alerts of the user's stations from the page, then live from
// /ws/alarms/ (resynced from the server on every reconnect). Each alarm card shows its lifecycle with times
// and elapsed times and the next actions: acknowledge → dispatch (officer list from the server, the grid's
// officer preselected) → arrival (reported by the officer's phone, or recorded here) → close. The selected
// alarm's unit is shown on a small MapLibre map (vendored; the style comes from our server), and the cameras
// within 500 m of it with their latest picture, each linking to its live view.
(function () {
  const root = document.getElementById("console");
  if (!root || !window.DoorstepAlarms) return;
  const A = window.DoorstepAlarms;
  const el = A.el;
  const d = root.dataset;
  const L = JSON.parse(document.getElementById("console-labels").textContent);
  const dispositions = JSON.parse(document.getElementById("dispositions").textContent);
  const cards = document.getElementById("alarm-cards");
  const empty = document.getElementById("console-empty");
  const link = document.getElementById("console-link");
  const banner = document.getElementById("escalation-banner");
  const bannerText = document.getElementById("escalation-text");
  const alertList = document.getElementById("device-alerts");
  const alertsEmpty = document.getElementById("alerts-empty");
  const alertCount = document.getElementById("alert-count");
  const mapLink = document.getElementById("map-link");
  const caption = document.getElementById("map-caption");
  const STATE_BADGE = { received: "bg-red text-red-fg", acknowledged: "bg-orange-lt", dispatched: "bg-blue-lt", arrived: "bg-green-lt" };
  const STATE_COLOUR = ["match", ["get", "state"], "received", "#d63939", "acknowledged", "#f76707", "dispatched", "#206bc4", "#2fb344"];

  const alarms = new Map(); // id → latest payload
  const nodes = new Map(); // id → card column
  const drafts = new Map(); // id → what the dispatcher chose or typed, kept across re-renders
  const closed = new Set(); // ids closed while this page is open: a late reload must not bring them back
  const teams = new Map(); // station id → Promise of the officers who may be sent
  let selected = null;

  A.syncClock(JSON.parse(document.getElementById("server-now").textContent));
  const url = (template, id) => template.replace("/0/", `/${id}/`);
  const draft = (id) => drafts.get(id) || drafts.set(id, {}).get(id);

  const hhmm = (iso) => A.time(iso).slice(0, 5);

  function fail(err) { window.alert(`${L.error}：${err.message}`); }

  // --- one alarm card ----------------------------------------------------------------------------------
  function badge(text, cls, testid) {
    const b = el("span", `badge ${cls}`, text);
    if (testid) b.dataset.testid = testid;
    return b;
  }

  function line(label, ...content) {
    const div = el("div", "small");
    div.append(el("span", "text-secondary", `${label}：`), ...content.map((c) => (typeof c === "string" ? document.createTextNode(c || "—") : c)));
    return div;
  }

  function phone(number) {
    if (!number) return "—";
    const a = el("a", "", number);
    a.href = `tel:${number}`;
    return a;
  }

  function steps(a) {
    const person = (p) => (p ? `${p.name}${p.phone ? " " + p.phone : ""}` : "");
    let arrival = "";
    if (a.arrival) {
      arrival = a.arrival.lng === null ? L.no_fix
        : `${L.distance} ${a.arrival.distance_m ?? "?"} ${L.metres}${a.arrival.accuracy !== null ? ` · ${L.accuracy} ${Math.round(a.arrival.accuracy)} ${L.metres}` : ""}`;
    }
    const rows = [
      ["pressed", a.pressed_at, ""],
      ["received", a.received_at, ""],
      ["acknowledged", a.acknowledged_at, a.acknowledged_by],
      ["dispatched", a.dispatched_at, person(a.dispatched_to)],
      ["receipt", a.received_by_officer_at, ""],
      ["arrived", a.arrived_at, arrival],
      ["closed", a.closed_at, a.disposition_label],
    ];
    const ul = el("ul", "alarm-steps");
    for (const [key, at, note] of rows) {
      const li = el("li", at ? "done" : "");
      li.dataset.testid = `step-${key}`;
      li.append(el("div", "text-secondary", L[key] || d[`label${key[0].toUpperCase()}${key.slice(1)}`] || key), el("span", "when", A.time(at)));
      if (at && !["pressed", "received"].includes(key)) li.append(el("span", "plus", ` +${A.between(a.received_at, at)}`));
      if (note) {
        const more = el("div", "text-truncate", note);
        more.title = note;
        li.append(more);
      }
      ul.append(li);
    }
    return ul;
  }

  function officerSelect(a) {
    const box = el("select", "form-select form-select-sm w-auto");
    box.setAttribute("aria-label", L.officer);
    box.dataset.testid = "officer-select";
    box.append(new Option(L.loading, ""));
    box.disabled = true;
    if (!teams.has(a.station)) {
      teams.set(a.station, A.getJSON(url(d.officersUrl, a.id)).catch((err) => { teams.delete(a.station); throw err; }));
    }
    teams.get(a.station).then((team) => {
      box.replaceChildren(new Option(L.choose_officer, ""));
      for (const o of team.officers) {
        const mark = a.grid_officer && o.id === a.grid_officer.id ? `（${L.grid_officer}）` : "";
        box.append(new Option(`${o.name} · ${o.role_label}${mark}`, o.id));
      }
      const preset = draft(a.id).officer || (a.dispatched_to && a.dispatched_to.id) || (a.grid_officer && a.grid_officer.id) || "";
      if (preset) box.value = String(preset);
      box.disabled = false;
    }, () => { box.replaceChildren(new Option(L.error, "")); });
    box.addEventListener("change", () => { draft(a.id).officer = box.value; });
    return box;
  }

  function button(text, cls, testid, onClick) {
    const b = el("button", `btn ${cls}`, text);
    b.type = "button";
    b.dataset.testid = testid;
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { await onClick(); } catch (err) { fail(err); } finally { b.disabled = false; }
    });
    return b;
  }

  function closeForm(a) {
    const form = el("form", "d-flex flex-wrap align-items-center gap-1 mt-2");
    const kind = el("select", "form-select form-select-sm w-auto");
    kind.name = "disposition";
    kind.setAttribute("aria-label", L.closed);
    for (const o of dispositions) kind.append(new Option(o.label, o.value));
    const note = el("input", "form-control form-control-sm close-note");
    note.name = "note";
    note.maxLength = 200;
    note.placeholder = L.note;
    note.setAttribute("aria-label", L.note);
    const saved = draft(a.id);
    if (saved.disposition) kind.value = saved.disposition;
    if (saved.note) note.value = saved.note;
    kind.addEventListener("change", () => { saved.disposition = kind.value; });
    note.addEventListener("input", () => { saved.note = note.value; });
    const done = el("button", "btn btn-outline-secondary btn-sm text-nowrap", L.close);
    done.type = "submit";
    done.dataset.testid = "close";
    form.append(kind, note, done);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      done.disabled = true;
      try { render(await A.post(url(d.closeUrl, a.id), new FormData(form))); } catch (err) { fail(err); } finally { done.disabled = false; }
    });
    return form;
  }

  // The cameras near the unit (payload `cameras`, nearest first): the latest picture and a link to the live view.
  function nearbyCameras(a) {
    const box = el("div", "mt-2");
    box.dataset.testid = "nearby-cameras";
    box.append(el("div", "small text-secondary", `${d.labelCameras}：`));
    const list = el("div", "nearby-cameras");
    for (const c of a.cameras) {
      const link = el("a", "nearby-camera");
      link.href = d.cameraWatchUrl.replace("/0/", `/${c.id}/`);
      link.dataset.cameraId = c.id;
      const img = el("img");
      img.alt = "";
      img.loading = "lazy";
      img.src = d.cameraSnapshotUrl.replace("/0/", `/${c.id}/`);
      img.addEventListener("error", () => img.replaceWith(el("span", "no-picture", d.labelNoPicture)));
      const text = el("div", "small lh-sm text-truncate");
      text.append(el("div", "fw-bold text-truncate", c.name), el("div", "text-secondary text-truncate", c.location),
        el("div", c.status === "online" ? "text-green" : "text-red", `${c.distance_m} ${d.labelMetres} · ${c.status_label}`));
      link.title = `${c.name} · ${d.labelWatch}`;
      link.append(img, text);
      list.append(link);
    }
    box.append(list);
    return box;
  }

  function card(a) {
    const escalated = a.escalated_at && a.state === "received";
    const box = el("div", "card alarm-card" + (a.state === "received" ? " card-active border-red" : "")
      + (escalated ? " escalated" : "") + (selected === a.id ? " selected" : ""));
    box.dataset.testid = "alarm";
    const body = el("div", "card-body");
    const title = el("h3", "card-title mb-1 d-flex flex-wrap align-items-center gap-1");
    title.append(el("span", "me-1", `${a.type_label} · ${a.unit.name}`),
      badge(a.state_label, STATE_BADGE[a.state] || "bg-secondary-lt", "alarm-state"));
    if (a.drill) title.append(badge(L.drill, "bg-purple-lt", "drill"));
    if (a.escalated_at) title.append(badge(L.escalated, "bg-red text-red-fg", "escalated"));
    if (a.late_at && !a.arrived_at) title.append(badge(L.late, "bg-orange text-orange-fg", "late"));
    if (a.arrival && a.arrival.lng === null) title.append(badge(L.no_fix, "bg-yellow-lt", "no-fix"));
    // 接警确认 on the officer's phone ("民警已接收 HH:MM"), and a dispatch text that did not get through.
    if (a.received_by_officer_at) title.append(badge(`${d.labelReceipt} ${hhmm(a.received_by_officer_at)}`, "bg-teal-lt", "officer-receipt"));
    if (a.sms_failed && !a.received_by_officer_at) title.append(badge(d.labelSmsFailed, "bg-yellow text-yellow-fg", "sms-failed"));
    body.append(title, el("div", "text-secondary small mb-1", `${a.unit.address} · ${a.station_name}`));
    body.append(line(L.location, a.location),
      line(L.lead, `${a.security_lead || "—"} `, phone(a.security_phone)),
      line(L.grid, `${a.grid.name} · ${L.grid_officer} ${a.grid_officer ? a.grid_officer.name : L.none}`));
    body.append(steps(a));
    if (a.cameras && a.cameras.length) body.append(nearbyCameras(a));
    if (!a.arrived_at) {
      const clock = el("div", "small elapsed");
      clock.dataset.since = a.received_at;
      clock.dataset.norm = a.norm_seconds;
      body.append(clock);
    }
    const actions = el("div", "d-flex flex-wrap gap-2 mt-2 align-items-center");
    if (a.state === "received") {
      actions.append(button(L.ack, "btn-danger", "ack", async () => render(await A.post(url(d.ackUrl, a.id)))));
    }
    if (["received", "acknowledged", "dispatched"].includes(a.state)) {
      const who = officerSelect(a);
      actions.append(who, button(a.state === "dispatched" ? L.redispatch : L.dispatch, "btn-primary", "dispatch", async () => {
        const form = new FormData();
        if (who.value) form.set("officer", who.value);
        render(await A.post(url(d.dispatchUrl, a.id), form));
      }));
    }
    if (a.state === "dispatched") {
      actions.append(button(L.arrive_for, "btn-outline-success", "arrive-for", async () => {
        if (window.confirm(L.confirm_arrive_for)) render(await A.post(url(d.arriveUrl, a.id)));
      }));
    }
    actions.append(button(L.on_map, "btn-outline-secondary btn-sm", "show-on-map", async () => choose(a.id)));
    body.append(actions, closeForm(a));
    box.append(body);
    return box;
  }

  // --- the list ------------------------------------------------------------------------------------------
  function render(a, fresh) {
    if (closed.has(a.id) || !A.newer(a, alarms.get(a.id))) return;
    if (a.state === "closed") {
      closed.add(a.id);
      nodes.get(a.id)?.remove();
      for (const m of [alarms, nodes, drafts]) m.delete(a.id);
      if (selected === a.id) selected = null;
      refreshAll();
      return;
    }
    alarms.set(a.id, a);
    let col = nodes.get(a.id);
    if (!col) {
      col = el("div", "col-12 col-lg-6");
      col.dataset.alarmId = a.id;
      nodes.set(a.id, col);
      cards.prepend(col);
    }
    col.replaceChildren(card(a));
    if (fresh) {
      col.firstChild.classList.add("alarm-flash");
      if (a.state === "received") A.alarmTone();
      choose(a.id);
    }
    refreshAll();
  }

  function refreshAll() {
    empty.hidden = alarms.size > 0;
    const waiting = [...alarms.values()].filter((a) => a.escalated_at && a.state === "received");
    banner.hidden = waiting.length === 0;
    bannerText.replaceChildren();
    if (waiting.length) {
      bannerText.append(el("strong", "", `${L.escalation_banner}：`));
      for (const a of waiting) {
        const go = el("button", "btn btn-sm btn-light ms-2", `${a.unit.name}（${a.station_name}）${L.show}`);
        go.type = "button";
        go.addEventListener("click", () => { choose(a.id); nodes.get(a.id)?.scrollIntoView({ behavior: "smooth", block: "center" }); });
        bannerText.append(go);
      }
    }
    tick();
    drawMap();
  }

  function tick() {
    const now = A.now();
    for (const clock of document.querySelectorAll(".elapsed[data-since]")) {
      const used = now - Date.parse(clock.dataset.since);
      const norm = Number(clock.dataset.norm) * 1000;
      clock.textContent = `${L.elapsed} ${A.span(used)} / ${L.norm} ${norm / 60000} ${L.minutes}${used > norm ? ` · ${L.over}` : ""}`;
      clock.classList.toggle("text-danger", used > norm);
      clock.classList.toggle("fw-bold", used > norm);
    }
  }
  setInterval(tick, 1000);

  function escalation(a) {
    render(a, false);
    A.sirenTone();
    nodes.get(a.id)?.firstChild.classList.add("alarm-flash");
    choose(a.id);
  }

  // --- device alerts -------------------------------------------------------------------------------------
  const alerts = new Map();
  function renderAlert(p) {
    alerts.get(p.id)?.remove();
    alerts.delete(p.id);
    if (!p.cleared_at) {
      const item = el("div", "list-group-item py-2");
      item.dataset.alertId = p.id;
      item.dataset.testid = "device-alert";
      const head = el("div", "d-flex align-items-center gap-2");
      head.append(badge(p.kind_label, p.kind === "offline" ? "bg-secondary text-secondary-fg" : "bg-orange-lt"),
        el("strong", "small text-truncate", p.unit), el("span", "small text-secondary ms-auto", A.time(p.raised_at)));
      item.append(head, el("div", "small text-secondary", `${p.device} · ${p.location}${p.detail ? " · " + p.detail : ""}`));
      alerts.set(p.id, item);
      alertList.prepend(item);
    }
    alertCount.textContent = alerts.size;
    alertsEmpty.hidden = alerts.size > 0;
  }

  // --- the map -------------------------------------------------------------------------------------------
  const mapBox = document.getElementById("alarm-map");
  let map = null;
  let mapReady = false;

  function features() {
    const out = [];
    for (const a of alarms.values()) {
      if (a.lng === null || a.lng === undefined) continue;
      out.push({ type: "Feature", geometry: { type: "Point", coordinates: [a.lng, a.lat] },
        properties: { id: a.id, name: a.unit.name, state: a.state, selected: a.id === selected } });
      if (a.id === selected && a.arrival && a.arrival.lng !== null) {
        out.push({ type: "Feature", geometry: { type: "Point", coordinates: [a.arrival.lng, a.arrival.lat] },
          properties: { id: a.id, name: L.arrived, state: "arrival", selected: false } });
      }
    }
    return { type: "FeatureCollection", features: out };
  }

  function drawMap() {
    if (mapReady) map.getSource("alarms").setData(features());
  }

  function choose(id) {
    const a = alarms.get(id);
    if (!a) return;
    selected = id;
    for (const [other, col] of nodes) col.firstChild?.classList.toggle("selected", other === id);
    mapLink.href = `${d.mapUrl}?unit=${a.unit.id}`;
    caption.textContent = a.lng === null ? `${a.unit.name} · ${L.not_on_map}` : `${a.unit.name} · ${a.unit.address}`;
    mapBox.dataset.selected = id;
    if (mapReady && a.lng !== null) map.jumpTo({ center: [a.lng, a.lat], zoom: 16 });
    drawMap();
  }

  function startMap() {
    if (!window.maplibregl) { caption.textContent = L.map_unavailable; return; }
    try {
      map = new maplibregl.Map({
        container: mapBox,
        style: mapBox.dataset.styleUrl,
        center: mapBox.dataset.center.split(",").map(Number),
        zoom: 12,
        attributionControl: false,
        localIdeographFontFamily: "'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif",
      });
    } catch (err) {
      caption.textContent = L.map_unavailable;
      console.warn(err);
      return;
    }
    map.on("error", (e) => {
      const err = e.error || {};
      if (err.name !== "AbortError") console.warn("map:", err.message || err);
    });
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.on("load", async () => {
      try {
        const grids = await A.getJSON(mapBox.dataset.gridsUrl);
        map.addSource("grids", { type: "geojson", data: grids });
        map.addLayer({ id: "grids-line", type: "line", source: "grids", paint: { "line-color": "#206bc4", "line-width": 1, "line-opacity": 0.6 } });
      } catch (err) { console.warn(err); /* the alarms still show without the grid outlines */ }
      map.addSource("alarms", { type: "geojson", data: features() });
      map.addLayer({ id: "alarms", type: "circle", source: "alarms",
        paint: { "circle-color": ["case", ["==", ["get", "state"], "arrival"], "#2fb344", STATE_COLOUR],
          "circle-radius": ["case", ["get", "selected"], 10, ["==", ["get", "state"], "arrival"], 5, 6],
          "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 } });
      map.addLayer({ id: "alarm-labels", type: "symbol", source: "alarms",
        filter: ["any", ["get", "selected"], ["==", ["get", "state"], "arrival"]],
        layout: { "text-field": ["get", "name"], "text-font": [mapBox.dataset.font], "text-size": 13, "text-offset": [0, 1.3], "text-anchor": "top" },
        paint: { "text-color": "#1d273b", "text-halo-color": "#ffffff", "text-halo-width": 1.5 } });
      map.on("click", "alarms", (e) => { const id = e.features[0].properties.id; choose(id); nodes.get(id)?.scrollIntoView({ behavior: "smooth", block: "center" }); });
      mapReady = true;
      if (selected !== null) choose(selected); else drawMap();
      map.once("idle", () => { mapBox.dataset.ready = "1"; });
    });
  }

  // --- start: the page's state, then the socket -------------------------------------------------------------
  const initial = JSON.parse(document.getElementById("initial-alarms").textContent);
  for (const a of initial.slice().reverse()) render(a, false); // oldest first, so the newest ends on top
  for (const p of JSON.parse(document.getElementById("initial-alerts").textContent).reverse()) renderAlert(p);
  if (initial.length) choose(initial[0].id);
  startMap();

  async function resync() {
    try {
      const state = await A.getJSON(d.stateUrl);
      A.syncClock(state.now);
      const open = new Set(state.alarms.map((a) => a.id));
      for (const id of [...alarms.keys()]) {
        if (!open.has(id)) render({ ...alarms.get(id), state: "closed", updated_at: state.now });
      }
      for (const a of state.alarms.slice().reverse()) render(a, false);
      for (const p of [...alerts.keys()]) if (!state.alerts.some((x) => x.id === p)) renderAlert({ id: p, cleared_at: state.now });
      for (const p of state.alerts.slice().reverse()) renderAlert(p);
    } catch (err) { console.warn(err); }
  }

  const soundButton = document.getElementById("sound-on");
  soundButton.addEventListener("click", async () => {
    if (await A.unlock()) { soundButton.textContent = L.sound_ready; soundButton.classList.replace("btn-outline-primary", "btn-ghost-success"); }
  });

  A.connect({
    onOpen: () => {
      link.textContent = L.online;
      link.className = "badge bg-green-lt";
      resync().then(() => { root.dataset.live = "1"; });
    },
    onClose: () => {
      root.dataset.live = "";
      link.textContent = L.offline;
      link.className = "badge bg-red-lt";
    },
    onMessage: (msg) => {
      if (msg.type === "alarm") render(msg.payload, !alarms.has(msg.payload.id) && !closed.has(msg.payload.id));
      else if (msg.type === "escalation") escalation(msg.payload);
      else if (msg.type === "device_alert") renderAlert(msg.payload);
    },
  });
})();
