// The broadcast dialog (广播喊话) and the shared /ws/video/ socket. Include templates/video/_broadcast.html once
// on a page (it renders the dialog's markup, with its words translated, and loads alarm-common.js — the
// requests with the CSRF token and the element helper — and this file).
//
//   DoorstepBroadcast.open({speakers: [ids], event: id|null, camera: id|null, source: "console"|"event"|"map"|"alarm",
//                           text: "…" (optional)})
//       Shows the dialog: the speakers of the user's territory grouped by zone (the given ones ticked and listed
//       first), a "按分区" choice, the preset warnings, the text (≤ 200 characters) and the repeat count (1–5).
//       "发送" posts to video:broadcast_new; the dialog then shows each speaker's delivery (待发送/发送中/已送达/
//       失败 with the reason), updated live. Returns a Promise that settles when the dialog is ready.
//   DoorstepBroadcast.update(payload)
//       A "broadcast" payload (realtime.broadcast_payload): refreshes the dialog if it shows that broadcast. The
//       dialog's own socket calls it already; a page with its own socket may call it too (harmless twice).
//   DoorstepBroadcast.onMessage(fn) → unsubscribe()
//       fn({type: "event"|"camera"|"broadcast"|"run"|"hello"|"pong", payload}) for every message of the one shared
//       /ws/video/ socket (opened on first use, reconnecting with back-off; not reopened after 4401/4403).
//   DoorstepBroadcast.onStatus(fn) → unsubscribe()
//       fn(true|false) when the shared socket opens or closes (called at once with the current state).
//   DoorstepBroadcast.close()
//
// Any element with data-broadcast opens the dialog on click, with data-broadcast-speakers="1,2",
// data-broadcast-camera, data-broadcast-event and data-broadcast-source.
window.DoorstepBroadcast = (function () {
  const root = document.getElementById("broadcast-dialog");
  const d = root ? root.dataset : {};
  const q = (role) => (root ? root.querySelector(`[data-role="${role}"]`) : null);
  const BADGE = { pending: "bg-secondary-lt", sending: "bg-blue-lt", delivered: "bg-green-lt", failed: "bg-red-lt" };
  const { el, getJSON, post } = window.DoorstepAlarms;

  // --- the shared socket ---------------------------------------------------------------------------------
  const listeners = new Set();
  const statusListeners = new Set();
  let socket = null;
  let open_ = false;
  // The latest payload of each broadcast the socket told of: a fast speaker's result can arrive before the
  // answer to the POST that sent the broadcast, and must not be lost to the older state in that answer.
  const latest = new Map();
  let stopped = false;
  let retry = 1000;

  function setStatus(value) {
    open_ = value;
    for (const fn of statusListeners) { try { fn(value); } catch (err) { console.error(err); } }
  }

  function connect() {
    if (socket || stopped) return;
    const path = d.wsUrl || "/ws/video/";
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`);
    socket = ws;
    const ping = setInterval(() => { if (ws.readyState === 1) ws.send('{"type":"ping"}'); }, 25000);
    ws.onopen = () => { retry = 1000; setStatus(true); };
    ws.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch (err) { return; }
      if (msg.type === "broadcast") {
        latest.set(msg.payload.id, msg.payload);
        if (latest.size > 50) latest.delete(latest.keys().next().value);
        update(msg.payload);
      }
      for (const fn of listeners) { try { fn(msg); } catch (err) { console.error(err); } }
    };
    ws.onclose = (e) => {
      clearInterval(ping);
      socket = null;
      setStatus(false);
      if (e.code === 4401 || e.code === 4403) { stopped = true; return; } // signed out / no territory
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  function onMessage(fn) { listeners.add(fn); connect(); return () => listeners.delete(fn); }
  function onStatus(fn) { statusListeners.add(fn); fn(open_); return () => statusListeners.delete(fn); }

  // --- the dialog --------------------------------------------------------------------------------------------
  let options = null;
  let context = { speakers: [], event: null, camera: null, source: "console" };
  let current = null; // the broadcast the status step shows
  let presetId = null;
  let poller = null;
  let modal = null;
  let backdrop = null;

  function bootstrapModal() { return !!(window.tabler && window.tabler.Modal); }

  function show() {
    if (bootstrapModal()) {
      modal = modal || window.tabler.Modal.getOrCreateInstance(root);
      modal.show();
      return;
    }
    root.style.display = "block";
    root.classList.add("show");
    root.removeAttribute("aria-hidden");
    root.setAttribute("aria-modal", "true");
    backdrop = backdrop || el("div", "modal-backdrop fade show");
    document.body.append(backdrop);
    document.body.classList.add("modal-open");
  }

  function hide() {
    stopPolling();
    if (modal) { modal.hide(); return; }
    root.style.display = "none";
    root.classList.remove("show");
    root.setAttribute("aria-hidden", "true");
    root.removeAttribute("aria-modal");
    backdrop?.remove();
    document.body.classList.remove("modal-open");
  }

  function showError(message) {
    const box = q("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function step(name) {
    for (const part of root.querySelectorAll("[data-step]")) part.hidden = part.dataset.step !== name;
    q("send").hidden = name !== "compose";
    q("again").hidden = name !== "status";
  }

  function mode() { return root.querySelector("[data-role=mode]:checked").value; }

  function checked() {
    return [...q("speakers").querySelectorAll("input[type=checkbox][value]:checked")].map((c) => Number(c.value));
  }

  function summary() {
    const box = q("summary");
    if (!options) { box.textContent = ""; return; }
    if (mode() === "zone") {
      const zone = q("zone").value;
      const n = options.speakers.filter((s) => s.active && s.zone === zone).length;
      box.textContent = zone ? `${zone} · ${n} ${d.labelZoneSpeakers}` : "";
    } else {
      box.textContent = `${d.labelSelected} ${checked().length}`;
    }
  }

  function speakerItem(s, ticked) {
    const label = el("label", "form-check d-flex align-items-start gap-2 px-2 py-1 m-0 border-bottom");
    label.dataset.search = `${s.name} ${s.location} ${s.zone} ${s.code}`.toLowerCase();
    const box = el("input", "form-check-input ms-0 mt-1 flex-shrink-0");
    box.type = "checkbox";
    box.value = s.id;
    box.checked = ticked && s.active;
    box.disabled = !s.active;
    const text = el("span", "form-check-label flex-fill");
    text.append(el("span", "fw-bold", s.name), el("span", "text-secondary ms-1", s.location));
    const where = el("div", "small text-secondary", `${s.grid_name} · ${s.station_name}${s.active ? "" : " · " + d.labelInactive}`);
    text.append(where);
    label.append(box, text);
    return label;
  }

  function group(title, speakers, ticked) {
    const wrap = el("div", "broadcast-group");
    const head = el("div", "d-flex align-items-center bg-light px-2 py-1 small fw-bold border-bottom position-sticky top-0");
    head.append(el("span", "", title));
    const all = el("button", "btn btn-link btn-sm p-0 ms-auto", d.labelAll);
    all.type = "button";
    all.addEventListener("click", () => {
      const boxes = [...wrap.querySelectorAll("input[type=checkbox]:not(:disabled)")].filter((b) => !b.closest("label").hidden);
      const on = boxes.some((b) => !b.checked);
      for (const b of boxes) b.checked = on;
      summary();
    });
    head.append(all);
    wrap.append(head);
    for (const s of speakers) wrap.append(speakerItem(s, ticked));
    return wrap;
  }

  function renderSpeakers() {
    const list = q("speakers");
    list.replaceChildren();
    const chosen = new Set(context.speakers);
    const first = options.speakers.filter((s) => chosen.has(s.id));
    const rest = options.speakers.filter((s) => !chosen.has(s.id));
    if (!options.speakers.length) { list.append(el("div", "p-2 text-secondary small", d.labelNone)); return; }
    if (first.length) list.append(group(d.labelCovering, first, true));
    const zones = new Map();
    for (const s of rest) (zones.get(s.zone) || zones.set(s.zone, []).get(s.zone)).push(s);
    const names = [...zones.keys()].sort((a, b) => (a === "") - (b === "") || a.localeCompare(b, "zh-CN"));
    for (const zone of names) list.append(group(zone || d.labelNoZone, zones.get(zone), false));
  }

  function renderZones() {
    const select = q("zone");
    select.replaceChildren(new Option(d.labelChooseZone, ""));
    for (const zone of options.zones) select.append(new Option(zone, zone));
    const covering = options.speakers.find((s) => context.speakers.includes(s.id) && s.zone);
    if (covering) select.value = covering.zone;
  }

  function renderPresets() {
    const box = q("presets");
    box.replaceChildren();
    for (const p of options.presets) {
      const b = el("button", "btn btn-sm btn-outline-secondary", p.title);
      b.type = "button";
      b.title = p.text;
      b.dataset.preset = p.id;
      b.addEventListener("click", () => {
        q("text").value = p.text;
        presetId = p.id;
        for (const other of box.children) other.classList.toggle("active", other === b);
        count();
      });
      box.append(b);
    }
  }

  function count() {
    const text = q("text").value;
    q("count").textContent = text.length;
    const preset = options && options.presets.find((p) => p.id === presetId);
    if (preset && preset.text !== text) {
      presetId = null;
      for (const b of q("presets").children) b.classList.remove("active");
    }
  }

  function renderDeliveries(payload) {
    const body = q("deliveries");
    body.replaceChildren();
    for (const dl of payload.deliveries) {
      const row = el("tr");
      row.dataset.deliveryId = dl.id;
      row.dataset.status = dl.status;
      const status = el("td");
      status.append(el("span", `badge ${BADGE[dl.status] || "bg-secondary-lt"}`, dl.status_label));
      row.append(el("td", "", dl.speaker_name), status, el("td", "", String(dl.attempts)), el("td", "small text-secondary", dl.detail || ""));
      body.append(row);
    }
  }

  function settled(payload) { return payload.deliveries.every((x) => x.status === "delivered" || x.status === "failed"); }

  function stopPolling() { if (poller) { clearTimeout(poller); poller = null; } }

  // Without the socket (a proxy that drops WebSockets) the status is fetched every few seconds instead.
  function poll(url, left) {
    stopPolling();
    if (open_ || left <= 0) return;
    poller = setTimeout(async () => {
      try {
        const payload = await getJSON(url);
        update(payload);
        if (!settled(payload)) poll(url, left - 1);
      } catch (err) { poll(url, left - 1); }
    }, 3000);
  }

  function update(payload) {
    if (!root || !payload || payload.id !== current) return;
    renderDeliveries(payload);
    if (settled(payload)) stopPolling();
  }

  async function send() {
    showError("");
    const body = { text: q("text").value.trim(), preset: presetId, repeat: Number(q("repeat").value), source: context.source,
      event: context.event, camera: context.camera, speakers: [] };
    if (mode() === "zone") {
      body.zone = q("zone").value;
      if (!body.zone) { showError(d.labelNeedZone); return; }
    } else {
      body.speakers = checked();
      if (!body.speakers.length) { showError(d.labelNeedSpeaker); return; }
    }
    if (!body.text && !body.preset) { showError(d.labelNeedText); return; }
    const button = q("send");
    button.disabled = true;
    button.querySelector("span").textContent = d.labelSending;
    try {
      const sent = await post(d.newUrl, body);
      const payload = latest.get(sent.id) || sent;
      current = payload.id;
      root.dataset.broadcastId = payload.id;
      q("sent-text").textContent = payload.text;
      q("record").href = payload.url;
      renderDeliveries(payload);
      step("status");
      connect();
      if (!settled(payload)) poll(payload.url, 40);
    } catch (err) {
      showError(`${d.labelError}：${err.message}`);
    } finally {
      button.disabled = !(options && options.may_broadcast);
      button.querySelector("span").textContent = d.labelSend;
    }
  }

  async function open(opts) {
    if (!root) { console.warn("DoorstepBroadcast: this page does not include video/_broadcast.html"); return; }
    opts = opts || {};
    context = {
      speakers: (opts.speakers || []).map(Number).filter((n) => Number.isInteger(n) && n > 0),
      event: opts.event ? Number(opts.event) : null,
      camera: opts.camera ? Number(opts.camera) : null,
      source: opts.source || "console",
    };
    current = null;
    presetId = null;
    stopPolling();
    showError("");
    step("compose");
    root.querySelector("[data-role=mode][value=speakers]").checked = true;
    q("speakers-box").hidden = false;
    q("zone-box").hidden = true;
    q("filter").value = "";
    q("text").value = opts.text || "";
    q("repeat").value = "2";
    q("count").textContent = q("text").value.length;
    q("speakers").replaceChildren(el("div", "p-2 text-secondary small", "…"));
    q("presets").replaceChildren();
    q("send").disabled = true;
    show();
    try {
      options = await getJSON(d.optionsUrl);
    } catch (err) {
      showError(d.labelLoadError);
      return;
    }
    renderSpeakers();
    renderZones();
    renderPresets();
    summary();
    q("send").disabled = !options.may_broadcast;
    if (!options.may_broadcast) showError(d.labelNoRight);
    root.dataset.ready = "1";
    connect();
  }

  if (root) {
    q("send").addEventListener("click", send);
    q("again").addEventListener("click", () => open({ ...context, text: "" }));
    q("text").addEventListener("input", count);
    q("speakers").addEventListener("change", summary);
    q("zone").addEventListener("change", summary);
    q("filter").addEventListener("input", () => {
      const needle = q("filter").value.trim().toLowerCase();
      for (const item of q("speakers").querySelectorAll("label[data-search]")) item.hidden = !!needle && !item.dataset.search.includes(needle);
    });
    for (const radio of root.querySelectorAll("[data-role=mode]")) {
      radio.addEventListener("change", () => {
        q("speakers-box").hidden = mode() !== "speakers";
        q("zone-box").hidden = mode() !== "zone";
        summary();
      });
    }
    root.addEventListener("hidden.bs.modal", stopPolling);
    // Without Bootstrap's modal (tabler.min.js loads after this file, so this is decided when used).
    root.addEventListener("click", (e) => {
      if (!bootstrapModal() && (e.target === root || e.target.closest("[data-bs-dismiss=modal]"))) hide();
    });
    document.addEventListener("keydown", (e) => {
      if (!bootstrapModal() && e.key === "Escape" && root.classList.contains("show")) hide();
    });
  }

  document.addEventListener("click", (e) => {
    const trigger = e.target.closest("[data-broadcast]");
    if (!trigger) return;
    e.preventDefault();
    const t = trigger.dataset;
    open({
      speakers: (t.broadcastSpeakers || "").split(",").filter(Boolean),
      camera: t.broadcastCamera || null,
      event: t.broadcastEvent || null,
      source: t.broadcastSource || "console",
    });
  });

  return { open, update, onMessage, onStatus, close: hide };
})();
