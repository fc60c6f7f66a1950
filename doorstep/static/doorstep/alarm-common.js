// Shared by the dispatch console (console.js), the officer's phone page (mine.js) and the video pages
// (broadcast.js, patrol.js, video.js): the server's clock,
// times and durations in Chinese, POST with the CSRF token, tones generated here (no sound files), and the
// /ws/alarms/ socket that reconnects and, on every (re)connect, lets the page resync from the server.
window.DoorstepAlarms = (function () {
  let offset = 0; // server clock − browser clock, ms: elapsed times must not depend on the PC's clock
  // Times in the site's zone (settings.TIME_ZONE), whatever zone the PC or phone is set to.
  const zone = document.documentElement.dataset.timeZone || document.querySelector("[data-time-zone]")?.dataset.timeZone;

  function syncClock(iso) { offset = Date.parse(iso) - Date.now(); }
  function now() { return Date.now() + offset; }
  function time(iso) {
    return iso ? new Date(iso).toLocaleTimeString("zh-CN", { hour12: false, ...(zone ? { timeZone: zone } : {}) }) : "—";
  }
  function span(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    const m = Math.floor(s / 60);
    return m ? `${m}分${String(s % 60).padStart(2, "0")}秒` : `${s}秒`;
  }
  function between(fromIso, toIso) { return span(Date.parse(toIso) - Date.parse(fromIso)); }
  function newer(a, b) { return !b || Date.parse(a.updated_at) >= Date.parse(b.updated_at); }

  function csrf() { return (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || ""; }

  async function request(url, options) {
    const response = await fetch(url, { credentials: "same-origin", ...options,
      headers: { Accept: "application/json", "X-CSRFToken": csrf(), ...(options.headers || {}) } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || `HTTP ${response.status}`);
    return data;
  }
  function getJSON(url) { return request(url, { method: "GET" }); }
  function post(url, body) {
    if (body instanceof FormData || body === undefined) return request(url, { method: "POST", body: body || new FormData() });
    return request(url, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  }

  // Browsers start audio only after a click on the page: the pages offer a button that calls unlock().
  let audio = null;
  function context() {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    return audio;
  }
  function unlock() {
    try { return context().resume().then(() => context().state === "running"); } catch (err) { return Promise.resolve(false); }
  }
  function soundReady() { return !!audio && audio.state === "running"; }
  function play(notes, type) {
    try {
      const ctx = context();
      let at = ctx.currentTime;
      for (const [freq, seconds] of notes) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = type || "square";
        osc.frequency.value = freq;
        gain.gain.value = 0.25;
        osc.connect(gain).connect(ctx.destination);
        osc.start(at);
        osc.stop(at + seconds);
        at += seconds + 0.05;
      }
    } catch (err) { /* no audio device: the page still flashes */ }
  }
  const alarmTone = () => play([[880, 0.6]]);
  // Escalation: a two-tone siren, clearly not the ordinary alarm tone.
  const sirenTone = () => play(Array.from({ length: 8 }, (_, i) => [i % 2 ? 660 : 990, 0.35]), "sawtooth");
  const dispatchTone = () => play([[740, 0.25], [988, 0.25], [740, 0.25], [988, 0.5]]);

  function connect({ onMessage, onOpen, onClose }) {
    let retry = 1000;
    function open() {
      const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/alarms/`);
      ws.onopen = () => { retry = 1000; onOpen && onOpen(); };
      ws.onmessage = (m) => onMessage(JSON.parse(m.data));
      ws.onclose = (e) => {
        onClose && onClose();
        if (e.code === 4401) { window.location.reload(); return; } // the login ended: to the login page
        if (e.code === 4403) return; // no territory: reconnecting would not change that
        setTimeout(open, retry);
        retry = Math.min(retry * 2, 15000);
      };
      // Keep idle proxies from closing a quiet socket.
      const ping = setInterval(() => (ws.readyState === 1 ? ws.send('{"type":"ping"}') : clearInterval(ping)), 25000);
    }
    open();
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  return { syncClock, now, time, span, between, newer, getJSON, post, unlock, soundReady, alarmTone, sirenTone,
    dispatchTone, connect, el };
})();
