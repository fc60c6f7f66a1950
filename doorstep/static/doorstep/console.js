// The dispatch console: alarms of the user's stations from the page, then live from /ws/alarms/; a new alarm
// rings (a tone generated here, no sound file) and the dispatcher acknowledges and closes it.
(function () {
  const root = document.getElementById("console");
  if (!root) return;
  const d = root.dataset;
  const cards = document.getElementById("alarm-cards");
  const empty = document.getElementById("console-empty");
  const link = document.getElementById("console-link");
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const shown = new Map();

  function beep() {
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const osc = ctx.createOscillator();
      osc.type = "square";
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.6);
    } catch (err) { /* no audio device: the card still flashes */ }
  }

  function line(label, text) {
    const div = document.createElement("div");
    div.className = "small";
    const b = document.createElement("span");
    b.className = "text-secondary";
    b.textContent = label + "：";
    div.append(b, document.createTextNode(text || "—"));
    return div;
  }

  async function post(url, body) {
    const response = await fetch(url, { method: "POST", credentials: "same-origin", body,
      headers: { "X-CSRFToken": csrf, Accept: "application/json" } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || response.status);
    return data;
  }

  function render(a, fresh) {
    let card = shown.get(a.id);
    if (a.state === "closed") {
      if (card) { card.remove(); shown.delete(a.id); }
      empty.hidden = shown.size > 0;
      return;
    }
    if (!card) {
      card = document.createElement("div");
      card.className = "col-md-6 col-xl-4";
      card.dataset.alarmId = a.id;
      shown.set(a.id, card);
      cards.prepend(card);
    }
    const body = document.createElement("div");
    body.className = "card" + (a.state === "received" ? " card-active border-red alarm-new" : "");
    body.dataset.testid = "alarm";
    const inner = document.createElement("div");
    inner.className = "card-body";
    const title = document.createElement("h3");
    title.className = "card-title mb-1";
    title.textContent = `${a.type_label} · ${a.unit.name}`;
    const state = document.createElement("span");
    state.className = "badge ms-2 " + (a.state === "received" ? "bg-red text-red-fg" : "bg-blue-lt");
    state.dataset.testid = "alarm-state";
    state.textContent = a.state_label + (a.drill ? ` · ${d.labelDrill}` : "");
    title.append(state);
    inner.append(title, document.createTextNode(a.unit.address),
      line(d.labelLocation, a.location), line(d.labelLead, `${a.security_lead} ${a.security_phone}`),
      line(d.labelGrid, a.grid.name),
      line(d.labelPressed, new Date(a.pressed_at).toLocaleTimeString("zh-CN")),
      line(d.labelReceived, new Date(a.received_at).toLocaleTimeString("zh-CN")));
    if (a.acknowledged_by) inner.append(line(d.labelBy, a.acknowledged_by));
    const actions = document.createElement("div");
    actions.className = "d-flex gap-2 mt-2";
    if (a.state === "received") {
      const ack = document.createElement("button");
      ack.className = "btn btn-danger";
      ack.type = "button";
      ack.textContent = d.labelAck;
      ack.addEventListener("click", async () => {
        ack.disabled = true;
        try { render(await post(d.ackUrl.replace("/0/", `/${a.id}/`), new FormData())); }
        catch (err) { ack.disabled = false; window.alert(err.message); }
      });
      actions.append(ack);
    }
    const form = document.getElementById("close-template").content.firstElementChild.cloneNode(true);
    const done = document.createElement("button");
    done.className = "btn btn-outline-secondary btn-sm text-nowrap";
    done.type = "submit";
    done.textContent = d.labelClose;
    form.append(done);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try { render(await post(d.closeUrl.replace("/0/", `/${a.id}/`), new FormData(form))); }
      catch (err) { window.alert(err.message); }
    });
    inner.append(actions, form);
    body.append(inner);
    card.replaceChildren(body);
    empty.hidden = true;
    if (fresh && a.state === "received") beep();
  }

  for (const a of JSON.parse(document.getElementById("initial-alarms").textContent)) render(a, false);

  let retry = 1000;
  function connect() {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/alarms/`);
    ws.onopen = () => { retry = 1000; link.textContent = d.labelOnline; link.className = "badge bg-green-lt"; root.dataset.live = "1"; };
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === "alarm") render(msg.payload, !shown.has(msg.payload.id));
    };
    ws.onclose = (e) => {
      root.dataset.live = "";
      link.textContent = d.labelOffline;
      link.className = "badge bg-red-lt";
      if (e.code === 4401) { window.location.reload(); return; } // the login ended: to the login page
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }
  connect();
})();
