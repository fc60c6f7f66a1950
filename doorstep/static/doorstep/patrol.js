// Video patrol pages: the live viewer (MJPEG, falling back to a snapshot every 2 s), the ordered camera picker
// of the tour form, and the patrol console — my due runs stepped through camera by camera (正常 / 异常 →
// next camera), free patrol from the camera list, and the live motion events from /ws/video/ with the
// broadcast dialog (broadcast.js: window.DoorstepBroadcast) for the speakers of a camera or an event. The tour
// form and the console need alarm-common.js (window.DoorstepAlarms) loaded before this file.
(function () {
  "use strict";

  const el = (...args) => window.DoorstepAlarms.el(...args);

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => (values[key] ?? ""));
  }

  // --- the live viewer ---------------------------------------------------------------------------------
  // One <img>: the camera's MJPEG stream; when it fails, its snapshot refreshed every `refreshMs` (and the
  // stream tried again after a while); a new stream before the server ends the old one (`reconnectMs`).
  function Viewer({ img, empty, mode, refreshMs, reconnectMs, noPicture }) {
    let camera = null;
    let live = false;
    let timer = null;
    let retry = null;
    let failures = 0;

    function clear() {
      clearTimeout(timer);
      clearTimeout(retry);
      timer = retry = null;
    }
    function bust(url) { return `${url}${url.includes("?") ? "&" : "?"}t=${Date.now()}`; }

    function startLive() {
      clear();
      if (!camera) return;
      live = true;
      if (mode) mode.hidden = true;
      // Chromium fires no "load" for a multipart stream until it ends: show the picture at once.
      img.hidden = false;
      if (empty) empty.hidden = true;
      img.src = bust(camera.live);
      timer = setTimeout(startLive, reconnectMs);
    }

    function startSnapshots() {
      clear();
      if (!camera) return;
      live = false;
      const next = () => {
        img.src = bust(camera.snapshot);
        timer = setTimeout(next, failures ? Math.max(refreshMs, 10000) : refreshMs);
      };
      next();
      retry = setTimeout(startLive, 30000);
    }

    img.addEventListener("load", () => {
      failures = 0;
      img.hidden = false;
      if (empty) empty.hidden = true;
      if (mode) mode.hidden = live; // "snapshots every 2 s" once one is shown
    });
    img.addEventListener("error", () => {
      if (!camera) return;
      if (live) { startSnapshots(); return; }
      failures += 1;
      img.hidden = true;
      if (mode) mode.hidden = true;
      if (empty) { empty.textContent = noPicture; empty.hidden = false; }
    });

    return {
      show(next) {
        camera = next;
        failures = 0;
        if (!camera) { clear(); img.removeAttribute("src"); img.hidden = true; if (empty) empty.hidden = false; return; }
        startLive();
      },
      get camera() { return camera; },
    };
  }

  // --- the tour form's camera picker ------------------------------------------------------------------
  function picker(table) {
    const L = JSON.parse(document.getElementById("picker-labels").textContent);
    const body = table.tBodies[0];
    const rows = () => Array.from(body.querySelectorAll("tr[data-camera]"));
    const number = (row) => row.querySelector(".stop-number");
    const box = (row) => row.querySelector(".stop-include");

    function renumber() {
      let n = 1;
      for (const row of rows()) number(row).value = box(row).checked ? String(n++) : "";
    }
    function sortByNumbers() {
      const keyed = rows().map((row, i) => {
        const v = number(row).value.trim();
        const ok = /^\d{1,4}$/.test(v) && Number(v) > 0;
        box(row).checked = ok;
        return { row, key: ok ? [0, Number(v), i] : [1, 0, i] };
      });
      keyed.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2]);
      for (const { row } of keyed) body.append(row);
      renumber();
    }
    function tool(icon, label, testid, onClick) {
      const b = el("button", "btn btn-sm btn-icon btn-ghost-secondary");
      b.type = "button";
      b.title = label;
      b.setAttribute("aria-label", label);
      b.dataset.testid = testid;
      b.append(el("i", `ti ti-${icon}`));
      b.addEventListener("click", onClick);
      return b;
    }
    for (const row of rows()) {
      const check = el("input", "form-check-input stop-include me-2 mt-0 align-middle");
      check.type = "checkbox";
      check.title = L.include;
      check.setAttribute("aria-label", L.include);
      check.dataset.testid = "stop-include";
      check.checked = number(row).value.trim() !== "";
      check.addEventListener("change", () => {
        if (check.checked) {
          const chosen = rows().filter((r) => r !== row && box(r).checked);
          if (chosen.length) chosen[chosen.length - 1].after(row); else body.prepend(row);
        }
        renumber();
      });
      const up = tool("arrow-up", L.up, "stop-up", () => { row.previousElementSibling?.before(row); renumber(); });
      const down = tool("arrow-down", L.down, "stop-down", () => { row.nextElementSibling?.after(row); renumber(); });
      row.querySelector(".stop-tools").append(check, up, down);
      number(row).addEventListener("change", sortByNumbers);
    }
    sortByNumbers();
  }

  // --- the page of one camera -------------------------------------------------------------------------
  function watchPage(root) {
    const camera = JSON.parse(document.getElementById("watch-camera").textContent);
    const viewer = Viewer({
      img: document.getElementById("viewer-img"), empty: document.getElementById("viewer-empty"),
      mode: document.getElementById("viewer-mode"), refreshMs: Number(root.dataset.refreshMs) || 2000,
      reconnectMs: Number(root.dataset.reconnectMs) || 595000, noPicture: document.getElementById("viewer-empty").textContent,
    });
    viewer.show(camera);
    const button = document.getElementById("watch-broadcast");
    if (button) {
      button.addEventListener("click", () => {
        if (window.DoorstepBroadcast) {
          window.DoorstepBroadcast.open({ speakers: camera.speakers, event: null, camera: camera.id, source: "console" });
        }
      });
    }
  }

  // --- the patrol console ------------------------------------------------------------------------------
  function consolePage(root) {
    const A = window.DoorstepAlarms;
    const L = JSON.parse(document.getElementById("patrol-labels").textContent);
    const U = JSON.parse(document.getElementById("patrol-urls").textContent);
    const initial = JSON.parse(document.getElementById("patrol-state").textContent);
    const zone = root.dataset.timeZone;
    const mayBroadcast = root.dataset.mayBroadcast === "1";
    const $ = (id) => document.getElementById(id);
    const runList = $("run-list");
    const cameraList = $("camera-list");
    const eventList = $("event-list");
    const link = $("patrol-link");
    const panel = $("run-panel");
    const strip = $("stop-strip");
    const note = $("finding-note");
    const runError = $("run-error");
    const runHint = $("run-hint");
    const runDone = $("run-done");
    const viewer = Viewer({
      img: $("viewer-img"), empty: $("viewer-empty"), mode: $("viewer-mode"),
      refreshMs: Number(root.dataset.refreshMs) || 2000, reconnectMs: Number(root.dataset.reconnectMs) || 595000,
      noPicture: L.no_picture,
    });

    const cameras = new Map(); // id → camera info (live/snapshot URLs, speakers, status)
    const events = new Map(); // id → latest payload
    let runs = [];
    let active = null; // the run in progress that this page steps through
    let fresh = 0; // events that arrived while this page was open and nobody has looked at yet

    const url = (template, id) => template.replace("/0/", `/${id}/`);
    const hm = (iso) => (iso ? new Date(iso).toLocaleTimeString("zh-CN", { hour12: false, hour: "2-digit", minute: "2-digit", ...(zone ? { timeZone: zone } : {}) }) : "—");
    const hms = (iso) => (iso ? new Date(iso).toLocaleTimeString("zh-CN", { hour12: false, ...(zone ? { timeZone: zone } : {}) }) : "—");

    function cameraOf(id, fallback) {
      if (cameras.has(id)) return cameras.get(id);
      if (!fallback) return null;
      // A camera not in the list (disabled since, or just added): its pictures are at the usual places.
      return { id, name: fallback.name, location: fallback.location, status: "unknown", status_label: "", speakers: fallback.speakers || [],
        live: url(U.live, id), snapshot: url(U.snapshot, id), watch: url(U.watch, id) };
    }

    function openBroadcast(options) {
      if (!window.DoorstepBroadcast) { window.alert(L.broadcast_unavailable); return; }
      if (!options.speakers || !options.speakers.length) { window.alert(L.no_speakers); return; }
      window.DoorstepBroadcast.open(options);
    }

    // --- the viewer ---------------------------------------------------------------------------------
    // Stacked columns (a phone, a tablet): the picture the user just chose is brought into view.
    function reveal() {
      if (window.matchMedia("(max-width: 1199.98px)").matches) $("viewer-card").scrollIntoView({ behavior: "smooth", block: "start" });
    }

    function view(id, fallback) {
      const camera = cameraOf(id, fallback);
      if (!camera) return;
      if (viewer.camera && viewer.camera.id === camera.id) { renderViewerHead(); renderRunPanel(); return; }
      viewer.show(camera);
      const stop = active ? active.stops.find((s) => s.camera === camera.id) : null;
      note.value = stop && stop.finding ? stop.finding.note : "";
      runError.textContent = "";
      renderViewerHead();
      renderCameras();
      renderRunPanel();
    }

    function renderViewerHead() {
      const camera = viewer.camera;
      const status = $("viewer-status");
      const watch = $("viewer-watch");
      const broadcast = $("viewer-broadcast");
      if (!camera) return;
      $("viewer-title").textContent = camera.name;
      $("viewer-location").textContent = camera.location || "";
      status.hidden = !camera.status_label;
      status.textContent = camera.status_label || "";
      status.className = `badge ${camera.status === "online" ? "bg-green-lt" : camera.status === "offline" ? "bg-red text-red-fg" : camera.status === "reconnecting" ? "bg-orange-lt" : "bg-secondary-lt"}`;
      watch.hidden = false;
      watch.href = camera.watch;
      if (broadcast) broadcast.disabled = !(camera.speakers && camera.speakers.length);
    }

    const viewerBroadcast = $("viewer-broadcast");
    if (viewerBroadcast) {
      viewerBroadcast.addEventListener("click", () => {
        const camera = viewer.camera;
        if (camera) openBroadcast({ speakers: camera.speakers, event: null, camera: camera.id, source: "console" });
      });
    }

    // --- cameras -----------------------------------------------------------------------------------
    function renderCameras() {
      const items = [];
      let offline = 0;
      for (const camera of cameras.values()) {
        if (camera.status === "offline") offline += 1;
        const item = el("button", `list-group-item list-group-item-action camera-item ${camera.status}`);
        item.type = "button";
        item.dataset.testid = "camera";
        item.dataset.cameraId = camera.id;
        if (viewer.camera && viewer.camera.id === camera.id) item.classList.add("active");
        const dot = el("span", `status-dot ${camera.status}`);
        dot.title = camera.status_label;
        const name = el("span", "camera-name", camera.name);
        const line = el("div", "d-flex align-items-center");
        line.append(dot, name);
        if (camera.status !== "online") line.append(el("span", "ms-auto small text-secondary", camera.status_label));
        item.append(line, el("div", "small text-secondary text-truncate", camera.location));
        item.addEventListener("click", () => { view(camera.id); reveal(); });
        items.push(item);
      }
      cameraList.replaceChildren(...items);
      $("cameras-empty").hidden = cameras.size > 0;
      const count = $("offline-count");
      count.hidden = !offline;
      count.textContent = `${offline} ${cameras.size ? "/ " + cameras.size : ""}`;
    }

    // --- runs --------------------------------------------------------------------------------------
    function runBadge(run) {
      const cls = { due: "bg-secondary-lt", in_progress: "bg-blue-lt", done: "bg-green-lt", missed: "bg-red text-red-fg" }[run.status] || "bg-secondary-lt";
      const b = el("span", `badge ${cls}`, run.status_label);
      b.dataset.testid = "run-status";
      return b;
    }

    function actionButton(text, cls, testid, onClick) {
      const b = el("button", `btn btn-sm ${cls}`, text);
      b.type = "button";
      b.dataset.testid = testid;
      b.addEventListener("click", async () => {
        b.disabled = true;
        try { await onClick(); } catch (err) { window.alert(`${L.error}：${err.message}`); } finally { b.disabled = false; }
      });
      return b;
    }

    function renderRuns() {
      const items = runs.map((run) => {
        const item = el("div", `list-group-item${active && active.id === run.id ? " active" : ""}`);
        item.dataset.testid = "run";
        item.dataset.runId = run.id;
        const head = el("div", "d-flex align-items-center gap-1 flex-wrap");
        head.append(el("strong", "me-1", run.tour.name), runBadge(run));
        if (run.late) head.append(el("span", "badge bg-orange text-orange-fg", L.late));
        item.append(head, el("div", "small text-secondary", `${L.due} ${hm(run.due_at)} · ${fill(L.progress, { done: run.done, total: run.total })}`));
        const actions = el("div", "mt-2");
        if (run.status === "due") {
          actions.append(actionButton(L.start, "btn-primary", "run-start", async () => {
            const data = await A.post(url(U.start, run.id));
            replaceRun(data.run);
            activate(data.run);
            reveal();
          }));
        } else if (run.status === "in_progress" && run.mine) {
          if (!active || active.id !== run.id) actions.append(actionButton(L.resume, "btn-outline-primary", "run-resume", async () => { activate(run); reveal(); }));
        } else if (run.status === "in_progress") {
          actions.append(el("span", "small text-secondary", fill(L.by_other, { name: run.by })));
        }
        item.append(actions);
        return item;
      });
      runList.replaceChildren(...items);
      $("runs-empty").hidden = runs.length > 0;
    }

    function renderUpcoming(upcoming) {
      const box = $("upcoming");
      if (!upcoming.length) { box.replaceChildren(el("span", "text-secondary", L.no_upcoming)); return; }
      box.replaceChildren(...upcoming.map((u) => el("div", "", `${hm(u.due_at)} ${u.tour}`)));
    }

    function replaceRun(run) {
      const i = runs.findIndex((r) => r.id === run.id);
      if (run.status === "done" || run.status === "missed") { if (i >= 0) runs.splice(i, 1); } else if (i >= 0) runs[i] = run; else runs.push(run);
      if (active && active.id === run.id) active = run.status === "in_progress" ? run : null;
      renderRuns();
      renderRunPanel();
    }

    function stopIndex(run, cameraId) { return run.stops.findIndex((s) => s.camera === cameraId); }

    function activate(run) {
      active = run;
      runDone.hidden = true;
      const pending = run.stops.find((s) => !s.finding) || run.stops[0];
      renderRuns();
      if (pending) view(pending.camera, pending); else renderRunPanel();
    }

    function renderRunPanel() {
      panel.hidden = !active;
      if (!active) return;
      const run = active;
      $("run-title").textContent = run.tour.name;
      $("run-late").hidden = !run.late;
      $("run-progress").textContent = fill(L.progress, { done: run.done, total: run.total });
      const here = viewer.camera ? stopIndex(run, viewer.camera.id) : -1;
      strip.replaceChildren(...run.stops.map((stop, i) => {
        const f = stop.finding;
        const b = el("button", `btn btn-sm ${f ? (f.result === "abnormal" ? "btn-danger" : "btn-success") : "btn-outline-secondary"}${i === here ? " current" : ""}`, String(i + 1));
        b.type = "button";
        b.title = `${stop.name}${f ? " · " + f.result_label : ""}`;
        b.dataset.testid = "stop";
        b.dataset.cameraId = stop.camera;
        if (f) b.dataset.result = f.result;
        b.addEventListener("click", () => view(stop.camera, stop));
        return b;
      }));
      const onStop = here >= 0;
      $("finding-normal").disabled = $("finding-abnormal").disabled = !onStop;
      if (run.done >= run.total) runHint.textContent = L.all_recorded;
      else runHint.textContent = onStop ? fill(L.stop_of, { n: here + 1, total: run.total }) : "";
    }

    async function record(result) {
      if (!active || !viewer.camera) return;
      runError.textContent = "";
      const text = note.value.trim();
      if (result === "abnormal" && !text) { runError.textContent = L.note_needed; note.focus(); return; }
      const camera = viewer.camera.id;
      const data = await A.post(url(U.finding, active.id), { camera, result, note: text });
      note.value = "";
      replaceRun(data.run);
      // On to the next camera without a finding, after this one (then from the start).
      const run = data.run;
      const i = stopIndex(run, camera);
      const order = run.stops.slice(i + 1).concat(run.stops.slice(0, i + 1));
      const next = order.find((s) => !s.finding);
      if (next) view(next.camera, next); else renderRunPanel();
    }

    async function finish() {
      if (!active) return;
      runError.textContent = "";
      const data = await A.post(url(U.finish, active.id));
      active = null;
      replaceRun(data.run);
      runDone.textContent = `${L.finished}：${data.run.tour.name}`;
      runDone.hidden = false;
    }

    function guarded(button, fn) {
      button.addEventListener("click", async () => {
        button.disabled = true;
        try { await fn(); } catch (err) { runError.textContent = err.message; } finally { button.disabled = false; renderRunPanel(); }
      });
    }
    guarded($("finding-normal"), () => record("normal"));
    guarded($("finding-abnormal"), () => record("abnormal"));
    guarded($("run-finish"), finish);

    // --- motion events ----------------------------------------------------------------------------
    function eventNode(p) {
      const item = el("div", "list-group-item event-item");
      item.dataset.testid = "event";
      item.dataset.eventId = p.id;
      const row = el("div", "d-flex gap-2");
      if (p.snapshot) {
        const img = el("img", "event-thumb");
        img.src = p.snapshot;
        img.alt = p.camera.name;
        img.loading = "lazy";
        row.append(img);
      }
      const text = el("div", "flex-fill overflow-hidden");
      const title = el("div", "d-flex align-items-center gap-1");
      title.append(el("strong", "text-truncate", p.camera.name));
      const status = el("span", `badge ms-auto ${p.status === "new" ? "bg-red-lt" : p.status === "confirmed" ? "bg-orange-lt" : "bg-secondary-lt"}`, p.status_label);
      status.dataset.testid = "event-status";
      title.append(status);
      const where = el("div", "small text-secondary d-flex gap-2");
      where.append(el("span", "text-truncate", p.camera.location));
      if (p.url) {
        const a = el("a", "ms-auto text-nowrap", L.detail);
        a.href = p.url;
        where.append(a);
      }
      text.append(title, el("div", "small text-secondary text-truncate", `${L.zone} ${p.zone} · ${hms(p.detected_at)}`), where);
      row.append(text);
      const actions = el("div", "d-flex flex-wrap gap-1 mt-2");
      const viewBtn = el("button", "btn btn-sm btn-outline-primary", L.view);
      viewBtn.type = "button";
      viewBtn.dataset.testid = "event-view";
      viewBtn.addEventListener("click", () => { view(p.camera.id, { ...p.camera, speakers: p.speakers }); reveal(); });
      actions.append(viewBtn);
      if (mayBroadcast && p.speakers && p.speakers.length) {
        const b = el("button", "btn btn-sm btn-warning", L.broadcast);
        b.type = "button";
        b.dataset.testid = "event-broadcast";
        b.addEventListener("click", () => openBroadcast({ speakers: p.speakers, event: p.id, camera: p.camera.id, source: "event" }));
        actions.append(b);
      }
      if (U.handle && p.status === "new") {
        const handle = (status) => async () => {
          const form = new FormData();
          form.set("status", status);
          addEvent(await A.post(url(U.handle, p.id), form), false);
        };
        actions.append(actionButton(L.confirm, "btn-outline-danger", "event-confirm", handle("confirmed")),
          actionButton(L.dismiss, "btn-outline-secondary", "event-dismiss", handle("dismissed")));
      }
      item.append(row, actions);
      return item;
    }

    function addEvent(p, isNew) {
      const known = events.has(p.id);
      events.set(p.id, p);
      const node = eventNode(p);
      const old = eventList.querySelector(`[data-event-id="${p.id}"]`);
      if (old) old.replaceWith(node); else if (isNew) eventList.prepend(node); else eventList.append(node);
      $("events-empty").hidden = events.size > 0;
      if (isNew && !known) {
        node.classList.add("flash");
        fresh += 1;
        const count = $("event-new-count");
        count.textContent = `${fresh} ${L.new_event}`;
        count.hidden = false;
        if (A.soundReady()) A.alarmTone();
      }
    }
    eventList.addEventListener("click", () => { fresh = 0; $("event-new-count").hidden = true; });

    // --- state from the server ----------------------------------------------------------------------
    function applyState(state) {
      cameras.clear();
      for (const camera of state.cameras) cameras.set(camera.id, camera);
      runs = state.runs;
      if (active) active = runs.find((r) => r.id === active.id && r.status === "in_progress" && r.mine) || null;
      if (!active) {
        const mine = runs.find((r) => r.status === "in_progress" && r.mine);
        if (mine) { activate(mine); }
      }
      renderRuns();
      renderUpcoming(state.upcoming);
      renderCameras();
      if (viewer.camera && cameras.has(viewer.camera.id)) Object.assign(viewer.camera, cameras.get(viewer.camera.id));
      renderViewerHead();
      renderRunPanel();
    }

    let resyncing = null;
    function resync() {
      clearTimeout(resyncing);
      resyncing = setTimeout(() => A.getJSON(U.state).then(applyState, () => {}), 250);
    }

    function onCamera(p) {
      const camera = cameras.get(p.id);
      if (!camera) return;
      Object.assign(camera, { status: p.status, status_label: p.status_label, detail: p.detail, last_frame_at: p.last_frame_at });
      renderCameras();
      if (viewer.camera && viewer.camera.id === p.id) { Object.assign(viewer.camera, camera); renderViewerHead(); }
    }

    // One /ws/video/ socket per page: the broadcast dialog's (broadcast.js), which also keeps the dialog's
    // delivery statuses up to date; on every (re)connect the page resyncs from the server.
    function connect() {
      const B = window.DoorstepBroadcast;
      B.onMessage((msg) => {
        if (msg.type === "event") addEvent(msg.payload, true);
        else if (msg.type === "camera") onCamera(msg.payload);
        else if (msg.type === "run") resync();
      });
      B.onStatus((up) => {
        root.dataset.live = up ? "1" : "0";
        link.textContent = up ? L.online : L.offline;
        link.className = `badge ${up ? "bg-green-lt" : "bg-red-lt"}`;
        if (up) resync();
      });
    }

    $("sound-on").addEventListener("click", async () => {
      if (await A.unlock()) $("sound-on").textContent = L.sound_ready;
    });

    for (const p of initial.events) addEvent(p, false);
    $("events-empty").hidden = events.size > 0;
    applyState(initial);
    setInterval(resync, 60000); // tours fall due on the worker's minute tick
    connect();
  }

  const table = document.getElementById("stop-picker");
  if (table && document.getElementById("picker-labels")) picker(table);
  const watch = document.getElementById("watch");
  if (watch && document.getElementById("watch-camera")) watchPage(watch);
  const root = document.getElementById("patrol");
  if (root && window.DoorstepAlarms && window.DoorstepBroadcast) consolePage(root);
})();
