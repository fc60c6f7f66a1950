// The workspace's dispatch banner (#dispatch-banner) and the alarm buttons of the today tab. The page listens
// on /ws/alarms/ (the officer's socket joins only their own group `alarms.user.<id>`): a new dispatch shows the
// unit and its address with 收到 and 到场, vibrates, and rings a WebAudio tone (generated here, no sound file)
// every few seconds until 收到 is tapped. Phones start audio only after a tap on the page: while the
// AudioContext is suspended a "开启提示音" button offers that tap. 收到 and 到场 go through the sealed offline
// queue (enqueue "alarm_receive" / "alarm_arrive" with the phone's position), so they are recorded with the
// moment they were tapped even in a basement without signal. The socket reconnects with backoff; a close with
// 4401 (signed out) stops it and leaves the re-login prompt to app.js.
(function () {
  "use strict";

  const L = {
    new_dispatch: "新派警",
    drill: "演练",
    receive: "收到",
    arrive: "到场",
    received: "已收到",
    arrived: "已到场",
    pending: "待发送",
    sound_on: "开启提示音",
    dismiss: "关闭",
    location: "位置",
    queued: "已记录，联网后自动发送",
    sending: "已记录，正在发送",
    failed: "记录失败",
    withdrawn: "该报警已改派他人",
  };
  const VIBRATION = [500, 200, 500, 200, 500];
  const RING_EVERY_MS = 4000;
  const RING_FOR_MS = 10 * 60 * 1000; // a phone in a pocket stops ringing on its own after ten minutes

  // A phone refuses (and logs) a vibration before the page has had a tap; the tone waits for one anyway.
  function vibrate(pattern) {
    if (!navigator.vibrate) return;
    if (navigator.userActivation && !navigator.userActivation.hasBeenActive) return;
    navigator.vibrate(pattern);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function hhmm(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    const zone = document.documentElement.dataset.timeZone || undefined;
    return d.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, ...(zone ? { timeZone: zone } : {}) });
  }

  // --- the tone ----------------------------------------------------------------------------------------
  let audio = null;
  function context() {
    if (!audio) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      audio = new Ctx();
    }
    return audio;
  }
  function tone() {
    try {
      const ctx = context();
      if (!ctx) return;
      let at = ctx.currentTime;
      for (const [freq, seconds] of [[740, 0.25], [988, 0.25], [740, 0.25], [988, 0.5]]) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "square";
        osc.frequency.value = freq;
        gain.gain.value = 0.25;
        osc.connect(gain).connect(ctx.destination);
        osc.start(at);
        osc.stop(at + seconds);
        at += seconds + 0.05;
      }
    } catch (err) { /* no audio device: the banner and the vibration still reach the officer */ }
  }

  function setup() {
    const banner = document.getElementById("dispatch-banner");
    const M = window.DoorstepMobile;
    if (!M) return;
    Object.assign(L, readLabels());

    const alarms = new Map(); // id → the latest alarm payload (socket or today data)
    const local = new Map(); // id → {received: iso, arrived: iso}: tapped here, perhaps still in the queue
    let me = null;
    let ringing = null; // {id, timer, until}

    // --- what the server and this phone know of an alarm --------------------------------------------
    // The socket sends the console's payload (unit: {name, address}); /m/api/today a flat copy (unit, address).
    function unitOf(a) {
      if (typeof a.unit === "string") return { name: a.unit, address: a.address || "" };
      const unit = a.unit || {};
      return { name: unit.name || "", address: unit.address || a.address || "" };
    }
    function receivedAt(a) {
      return local.get(a.id)?.received || a.received_by_officer_at || a.officer_received_at || null;
    }
    function arrivedAt(a) {
      return local.get(a.id)?.arrived || a.arrived_at || null;
    }
    function isMine(a) {
      if (!a) return false;
      if (a.dispatched_to && me !== null && a.dispatched_to.id !== undefined) return a.dispatched_to.id === me;
      return true; // the today list holds only the officer's own alarms
    }
    function open(a) {
      return isMine(a) && a.state !== "closed" && a.state !== "arrived" && !arrivedAt(a);
    }

    // --- ringing ---------------------------------------------------------------------------------------
    function ring(id) {
      stopRing();
      const until = Date.now() + RING_FOR_MS;
      const once = () => {
        if (!ringing || Date.now() > ringing.until) { stopRing(); return; }
        vibrate(VIBRATION);
        tone();
        soundButton();
      };
      ringing = { id, until, timer: setInterval(once, RING_EVERY_MS) };
      once();
    }
    function stopRing() {
      if (ringing) clearInterval(ringing.timer);
      ringing = null;
      if (banner) banner.classList.remove("is-ringing");
      vibrate(0);
      soundButton();
    }
    function soundButton() {
      if (!banner) return;
      const button = banner.querySelector("[data-testid=dispatch-sound]");
      if (!button) return;
      button.hidden = !(audio && audio.state === "suspended");
    }

    // --- 收到 and 到场 through the sealed queue ----------------------------------------------------------
    const pending = new Set(); // kind:alarm being recorded — a double tap records once
    async function record(kind, a) {
      const key = `${kind}:${a.id}`;
      if (pending.has(key)) return;
      pending.add(key);
      try {
        await recordNow(kind, a);
      } finally {
        pending.delete(key);
      }
    }

    async function recordNow(kind, a) {
      const at = new Date().toISOString();
      const mark = local.get(a.id) || {};
      if (kind === "alarm_receive") mark.received = mark.received || at;
      else mark.arrived = mark.arrived || at;
      local.set(a.id, mark);
      if (kind === "alarm_receive" && ringing && ringing.id === a.id) stopRing();
      if (kind === "alarm_arrive" && ringing && ringing.id === a.id) stopRing();
      refresh(a.id);
      let pos = null;
      try { pos = await M.position(); } catch (err) { pos = null; }
      const unit = unitOf(a);
      const summary = `${kind === "alarm_receive" ? L.receive : L.arrive} · ${unit.name}`;
      try {
        await M.enqueue(kind, {
          alarm: a.id,
          lng: pos ? pos.lng : null,
          lat: pos ? pos.lat : null,
          accuracy: pos ? pos.accuracy : null,
          at,
        }, summary);
        if (M.toast) M.toast(navigator.onLine ? L.sending : L.queued);
      } catch (err) {
        if (kind === "alarm_receive") delete mark.received;
        else delete mark.arrived;
        refresh(a.id);
        if (M.toast) M.toast(`${L.failed}：${err.detail || err.message || ""}`);
      }
    }

    function actionButtons(a, where) {
      const box = el("div", "alarm-actions");
      const got = receivedAt(a);
      const there = arrivedAt(a);
      const receive = el("button", "btn part-btn " + (got ? "btn-ghost-success" : "btn-danger"),
        got ? `${L.received} ${hhmm(got)}` : L.receive);
      receive.type = "button";
      receive.dataset.testid = `${where}-receive`;
      receive.disabled = !!got;
      receive.addEventListener("click", () => record("alarm_receive", a));
      const arrive = el("button", "btn part-btn " + (there ? "btn-ghost-success" : "btn-success"),
        there ? `${L.arrived} ${hhmm(there)}` : L.arrive);
      arrive.type = "button";
      arrive.dataset.testid = `${where}-arrive`;
      arrive.disabled = !!there || a.state === "closed";
      arrive.addEventListener("click", () => record("alarm_arrive", a));
      box.append(receive, arrive);
      return box;
    }

    // --- the banner: the newest open dispatch ---------------------------------------------------------
    let shownId = null;
    function renderBanner() {
      if (!banner) return;
      let a = shownId !== null ? alarms.get(shownId) : null;
      if (!a || !open(a)) {
        a = [...alarms.values()].filter(open).filter((x) => !receivedAt(x))
          .sort((x, y) => Date.parse(y.dispatched_at || 0) - Date.parse(x.dispatched_at || 0))[0] || null;
        shownId = a ? a.id : null;
      }
      if (!a) {
        banner.replaceChildren();
        banner.hidden = true;
        banner.classList.remove("is-ringing");
        delete banner.dataset.alarm;
        return;
      }
      const unit = unitOf(a);
      const card = el("div", "dispatch-card");
      card.setAttribute("role", "alert");
      const head = el("div", "dispatch-head");
      head.append(el("span", "dispatch-kicker", a.type_label ? `${L.new_dispatch} · ${a.type_label}` : L.new_dispatch));
      if (a.drill) head.append(el("span", "badge bg-purple-lt ms-1", L.drill));
      const close = el("button", "btn-close dispatch-close");
      close.type = "button";
      close.setAttribute("aria-label", L.dismiss);
      close.addEventListener("click", () => { if (receivedAt(a)) { shownId = null; dismissed.add(a.id); renderBanner(); } });
      close.hidden = !receivedAt(a);
      head.append(close);
      const name = el("div", "dispatch-unit", unit.name);
      name.dataset.testid = "dispatch-unit";
      const address = el("div", "dispatch-address", unit.address);
      address.dataset.testid = "dispatch-address";
      card.append(head, name, address);
      if (a.location) card.append(el("div", "dispatch-location", `${L.location}：${a.location}`));
      card.append(actionButtons(a, "dispatch"));
      const sound = el("button", "btn btn-outline-light part-btn dispatch-sound", L.sound_on);
      sound.type = "button";
      sound.dataset.testid = "dispatch-sound";
      sound.hidden = !(audio && audio.state === "suspended");
      sound.addEventListener("click", async () => {
        const ctx = context();
        try { if (ctx) await ctx.resume(); } catch (err) { /* stays silent */ }
        if (ringing) tone();
        soundButton();
      });
      card.append(sound);
      banner.replaceChildren(card);
      banner.hidden = dismissed.has(a.id);
      banner.dataset.alarm = a.id;
      banner.classList.toggle("is-ringing", !!ringing && ringing.id === a.id);
    }
    const dismissed = new Set();

    // --- the today tab's [data-alarm-actions=<id>] ------------------------------------------------------
    function renderActions(id) {
      const selector = id === undefined ? "[data-alarm-actions]" : `[data-alarm-actions="${CSS.escape(String(id))}"]`;
      for (const holder of document.querySelectorAll(selector)) {
        const a = alarms.get(Number(holder.dataset.alarmActions)) || alarms.get(holder.dataset.alarmActions);
        if (!a) continue;
        holder.replaceChildren(actionButtons(a, "today"));
      }
    }

    function refresh(id) {
      renderBanner();
      renderActions(id);
    }

    function remember(a) {
      const old = alarms.get(a.id);
      if (old && old.updated_at && a.updated_at && Date.parse(a.updated_at) < Date.parse(old.updated_at)) return old;
      const merged = { ...(old || {}), ...a };
      alarms.set(a.id, merged);
      return merged;
    }

    function onToday(today) {
      const list = (today && (today.alarms || today.dispatched)) || [];
      let missed = null; // a recent dispatch the socket did not bring (it was down): ring for it now
      for (const a of list) {
        if (!a || a.id === undefined) continue;
        const known = alarms.has(a.id);
        const merged = remember(a);
        const recent = Date.now() - Date.parse(merged.dispatched_at || 0) < RING_FOR_MS;
        if (!known && recent && open(merged) && !receivedAt(merged) && !ringing) missed = merged;
      }
      if (missed) { shownId = missed.id; ring(missed.id); }
      refresh();
    }

    function onDispatch(payload) {
      const a = remember(payload);
      if (!isMine(a) || !open(a)) { refresh(a.id); return; }
      dismissed.delete(a.id);
      shownId = a.id;
      ring(a.id);
      refresh(a.id);
      // The shell may reload today's list so the alarm shows there too.
      document.dispatchEvent(new CustomEvent("doorstep:dispatch", { detail: { alarm: a.id } }));
    }

    function onAlarm(payload) {
      const known = alarms.has(payload.id);
      const a = remember(payload);
      if (ringing && ringing.id === a.id && (!isMine(a) || !open(a) || a.received_by_officer_at)) stopRing();
      if (known && !isMine(a) && M.toast) M.toast(`${unitOf(a).name}：${L.withdrawn}`);
      if (!isMine(a)) alarms.delete(a.id);
      refresh(a.id);
    }

    // --- the socket ------------------------------------------------------------------------------------
    let socket = null;
    let retry = 1000;
    let timer = null;
    let stopped = false;
    let opened = 0; // sockets opened so far: a reconnect (not the first) may have missed dispatches
    let steady = null;
    function connect() {
      if (stopped || (socket && socket.readyState <= 1)) return;
      clearTimeout(timer);
      const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/alarms/`);
      socket = ws;
      let ping = null;
      ws.onopen = () => {
        // The backoff restarts only once the socket stayed up a minute (a server that accepts and drops at
        // once is not hammered).
        clearTimeout(steady);
        steady = setTimeout(() => { retry = 1000; }, 60000);
        opened += 1;
        // Dispatches sent while the socket was down never reached it: today's list has them.
        if (opened > 1) document.dispatchEvent(new CustomEvent("doorstep:dispatch"));
        document.documentElement.dataset.alarmSocket = "open";
        // Keep idle proxies from closing a quiet socket.
        ping = setInterval(() => ws.readyState === 1 && ws.send('{"type":"ping"}'), 25000);
      };
      ws.onmessage = (m) => {
        let msg;
        try { msg = JSON.parse(m.data); } catch (err) { return; }
        if (msg.type === "hello") {
          me = msg.user ?? me;
          document.documentElement.dataset.alarmSocket = "live";
        } else if (msg.type === "dispatch") onDispatch(msg.payload);
        else if (msg.type === "alarm") onAlarm(msg.payload);
      };
      ws.onclose = (e) => {
        clearInterval(ping);
        clearTimeout(steady);
        document.documentElement.dataset.alarmSocket = "closed";
        if (socket === ws) socket = null;
        if (e.code === 4401) {
          // Signed out (or signed out everywhere): stop; any API call now answers 401, on which app.js shows
          // its re-login prompt (the login brings the page back, and the socket with it).
          stopped = true;
          M.api("/m/api/today", { background: true }).catch(() => {});
          return;
        }
        if (e.code === 4403) { stopped = true; return; } // no territory: reconnecting would not change that
        timer = setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      };
    }

    // Phones start audio only after a tap: the first tap anywhere on the page unlocks the tone for later.
    const unlock = () => {
      const ctx = context();
      if (ctx && ctx.state === "suspended") ctx.resume().then(soundButton).catch(() => {});
    };
    document.addEventListener("pointerdown", unlock, { passive: true });
    document.addEventListener("keydown", unlock);

    if (M.on) {
      M.on("today", onToday);
      M.on("online", () => { retry = 1000; connect(); });
      M.on("offline", () => { if (socket) socket.close(); });
    }
    // Back from the background: a socket the phone closed while asleep comes back at once.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && navigator.onLine && !stopped && !socket) {
        retry = 1000;
        connect();
      }
    });
    if (M.today) Promise.resolve(M.today()).then((t) => t && onToday(t)).catch(() => {});
    if (banner) banner.hidden = true;
    renderBanner();
    connect();
    window.doorstepDispatch = { alarms, stopRing }; // for the browser tests
  }

  function readLabels() {
    const node = document.getElementById("dispatch-labels");
    if (!node) return {};
    try { return JSON.parse(node.textContent); } catch (err) { return {}; }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
