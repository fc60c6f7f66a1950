// The officer's phone page: the alarms I was sent to, from the page and then live from /ws/alarms/ (my
// personal group; resynced from the server on every reconnect). A new dispatch rings and vibrates. "到场"
// reads the phone's position (navigator.geolocation) and posts it; when there is no fix (permission
// denied, no signal, plain HTTP) the page says why and offers to record the arrival without a position,
// which the console then shows as "无定位".
(function () {
  const root = document.getElementById("mine");
  if (!root || !window.DoorstepAlarms) return;
  const A = window.DoorstepAlarms;
  const el = A.el;
  const d = root.dataset;
  const me = Number(d.userId);
  const L = JSON.parse(document.getElementById("mine-labels").textContent);
  const list = document.getElementById("mine-cards");
  const empty = document.getElementById("mine-empty");
  const news = document.getElementById("mine-news");
  const link = document.getElementById("mine-link");
  const alarms = new Map();
  const nodes = new Map();
  const gone = new Set();
  const url = (template, id) => template.replace("/0/", `/${id}/`);

  A.syncClock(JSON.parse(document.getElementById("server-now").textContent));

  function line(label, ...content) {
    const div = el("div", "mb-1");
    div.append(el("span", "text-secondary", `${label}：`), ...content.map((c) => (typeof c === "string" ? document.createTextNode(c || "—") : c)));
    return div;
  }

  function linkButton(text, href, cls, testid, icon) {
    const a = el("a", `btn ${cls}`);
    a.href = href;
    a.dataset.testid = testid;
    if (icon) a.append(el("i", `ti ti-${icon} me-1`));
    a.append(document.createTextNode(text));
    return a;
  }

  function arrivalText(a) {
    if (!a.arrival) return "";
    if (a.arrival.lng === null) return `${L.arrived_at} ${A.time(a.arrived_at)}（${L.no_fix}）`;
    const accuracy = a.arrival.accuracy === null ? "" : `，${L.accuracy} ${Math.round(a.arrival.accuracy)} ${L.metres}`;
    return `${L.arrived_at} ${A.time(a.arrived_at)}（${L.distance} ${a.arrival.distance_m ?? "?"} ${L.metres}${accuracy}）`;
  }

  function card(a) {
    const box = el("div", "card mb-3 mine-card" + (a.state === "dispatched" ? " border-danger" : ""));
    box.dataset.testid = "my-alarm";
    const body = el("div", "card-body");
    const title = el("h3", "card-title d-flex flex-wrap align-items-center gap-1 mb-2");
    const state = el("span", "badge " + (a.state === "arrived" ? "bg-green-lt" : "bg-red text-red-fg"), a.state_label);
    state.dataset.testid = "alarm-state";
    title.append(el("span", "me-1", `${a.type_label} · ${a.unit.name}`), state);
    if (a.drill) title.append(el("span", "badge bg-purple-lt", L.drill));
    if (a.late_at && !a.arrived_at) title.append(el("span", "badge bg-orange text-orange-fg", L.late));
    const tel = a.security_phone ? linkButton(a.security_phone, `tel:${a.security_phone}`, "btn-sm btn-outline-primary ms-1", "call-lead", "phone") : "";
    body.append(title,
      el("div", "address mb-1", a.unit.address),
      line(L.location, a.location),
      line(L.lead, a.security_lead || "—", tel),
      line(L.dispatched, `${A.time(a.dispatched_at)}${a.dispatched_by ? "（" + a.dispatched_by + "）" : ""} · ${L.received} ${A.time(a.received_at)}`));
    if (!a.arrived_at) {
      const clock = el("div", "elapsed mb-2");
      clock.dataset.since = a.received_at;
      clock.dataset.norm = a.norm_seconds;
      body.append(clock);
    }
    const nav = el("div", "d-flex flex-wrap gap-2 mb-3");
    if (a.lat !== null && a.lng !== null) {
      const q = `${a.lat},${a.lng}(${a.unit.name})`;
      nav.append(linkButton(L.navigate, `geo:${a.lat},${a.lng}?q=${encodeURIComponent(q)}`, "btn-primary", "navigate", "navigation"));
    }
    nav.append(linkButton(L.our_map, `${d.mapUrl}?unit=${a.unit.id}`, "btn-outline-primary", "our-map", "map-2"));
    body.append(nav);
    const status = el("div", "small mt-2");
    status.setAttribute("aria-live", "polite");
    status.dataset.testid = "arrive-status";
    if (a.state === "arrived") {
      status.className = "text-success fw-bold";
      status.textContent = arrivalText(a);
      body.append(status);
      // On scene it turns out to be a dispute: take it into mediation (首问首接), linked to this alarm.
      body.append(linkButton(L.to_mediation, `/mediation/new/?alarm=${a.id}`, "btn-outline-secondary mt-2", "to-mediation", "scale"));
    } else if (a.state === "dispatched") {
      const go = el("button", "btn btn-success w-100 btn-arrive", L.arrive);
      go.type = "button";
      go.dataset.testid = "arrive";
      const fallback = el("button", "btn btn-outline-warning w-100 mt-2", L.arrive_no_fix);
      fallback.type = "button";
      fallback.dataset.testid = "arrive-no-fix";
      fallback.hidden = true;
      go.addEventListener("click", () => arrive(a, go, fallback, status));
      fallback.addEventListener("click", () => send(a, {}, go, fallback, status));
      body.append(go, fallback, status);
    }
    box.append(body);
    return box;
  }

  async function send(a, position, go, fallback, status) {
    go.disabled = fallback.disabled = true;
    status.className = "small mt-2 text-secondary";
    status.textContent = L.arriving;
    try {
      render(await A.post(url(d.arriveUrl, a.id), position));
    } catch (err) {
      status.className = "small mt-2 text-danger";
      status.textContent = `${L.error}：${err.message}`;
      fallback.hidden = false;
      go.disabled = fallback.disabled = false;
    }
  }

  function arrive(a, go, fallback, status) {
    const noFix = (why) => {
      status.className = "small mt-2 text-danger";
      status.textContent = `${why}${L.geo_fallback}`;
      fallback.hidden = false;
      go.disabled = false;
    };
    if (!navigator.geolocation) { noFix(L.geo_unsupported); return; }
    go.disabled = true;
    status.className = "small mt-2 text-secondary";
    status.textContent = L.locating;
    navigator.geolocation.getCurrentPosition(
      (pos) => send(a, { lng: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy }, go, fallback, status),
      (err) => noFix({ 1: L.geo_denied, 2: L.geo_unavailable, 3: L.geo_timeout }[err.code] || L.geo_unavailable),
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 },
    );
  }

  function remove(id) {
    nodes.get(id)?.remove();
    nodes.delete(id);
    alarms.delete(id);
    gone.add(id);
  }

  function render(a, fresh) {
    if (!A.newer(a, alarms.get(a.id))) return;
    const mine = a.dispatched_to && a.dispatched_to.id === me && a.state !== "closed";
    if (!mine) {
      if (nodes.has(a.id)) { remove(a.id); say(`${a.unit.name}：${L.withdrawn}`, "alert-warning"); }
    } else if (!gone.has(a.id) || fresh) {
      gone.delete(a.id);
      alarms.set(a.id, a);
      let holder = nodes.get(a.id);
      if (!holder) {
        holder = el("div");
        holder.dataset.alarmId = a.id;
        nodes.set(a.id, holder);
        list.prepend(holder);
      }
      holder.replaceChildren(card(a));
      if (fresh) {
        holder.firstChild.classList.add("mine-flash");
        A.dispatchTone();
        if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 800]);
        say(`${L.new_dispatch}：${a.unit.name} · ${a.unit.address}`, "alert-danger");
      }
    }
    empty.hidden = nodes.size > 0;
    tick();
  }

  function say(text, cls) {
    news.className = `alert ${cls}`;
    news.textContent = text;
    news.hidden = false;
  }

  function tick() {
    const now = A.now();
    for (const clock of root.querySelectorAll(".elapsed[data-since]")) {
      const used = now - Date.parse(clock.dataset.since);
      const norm = Number(clock.dataset.norm) * 1000;
      clock.textContent = `${L.elapsed} ${A.span(used)} / ${L.norm} ${norm / 60000} ${L.minutes}`;
      clock.classList.toggle("text-danger", used > norm);
      clock.classList.toggle("fw-bold", used > norm);
    }
  }
  setInterval(tick, 1000);

  async function resync() {
    try {
      const state = await A.getJSON(d.stateUrl);
      A.syncClock(state.now);
      const open = new Set(state.alarms.map((a) => a.id));
      for (const id of [...nodes.keys()]) if (!open.has(id)) remove(id);
      for (const a of state.alarms.slice().reverse()) { gone.delete(a.id); render(a, false); }
      empty.hidden = nodes.size > 0;
    } catch (err) { console.warn(err); }
  }

  for (const a of JSON.parse(document.getElementById("initial-alarms").textContent).reverse()) render(a, false);

  const notify = document.getElementById("notify-on");
  notify.addEventListener("click", async () => {
    if (navigator.vibrate) navigator.vibrate(60);
    if (await A.unlock()) { notify.textContent = L.sound_ready; notify.classList.replace("btn-outline-primary", "btn-ghost-success"); }
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
      if (msg.type === "dispatch") render(msg.payload, true);
      else if (msg.type === "alarm") render(msg.payload, false);
    },
  });
})();
