// The video management pages: the camera form (groups and speakers of the chosen grid's station only), the
// detection-zone editor on the camera's latest picture, and the live parts of the camera, event and broadcast
// pages, fed by the shared /ws/video/ socket of broadcast.js (DoorstepBroadcast.onMessage). Each part starts
// only when its element is on the page. Needs alarm-common.js (window.DoorstepAlarms) loaded before it.
(function () {
  const live = window.DoorstepBroadcast;
  const CAMERA_BADGE = { online: "bg-green-lt", reconnecting: "bg-orange-lt", offline: "bg-red-lt", unknown: "bg-secondary-lt", disabled: "bg-dark-lt" };
  const EVENT_BADGE = { new: "bg-red-lt", confirmed: "bg-orange-lt", dismissed: "bg-secondary-lt" };
  const DELIVERY_BADGE = { pending: "bg-secondary-lt", sending: "bg-blue-lt", delivered: "bg-green-lt", failed: "bg-red-lt" };
  const { el, post } = window.DoorstepAlarms;
  function setBadge(node, cls, label, map) {
    if (!node) return;
    for (const c of Object.values(map)) node.classList.remove(c);
    node.classList.add(cls);
    node.textContent = label;
  }
  // "2026-11-28T20:15:03.123+08:00" (already in the site's zone) → "2026-11-28 20:15:03"
  const clock = (iso) => (iso ? iso.slice(0, 19).replace("T", " ") : "—");

  // A picture that is not there (no frame yet: 404) gives way to its placeholder.
  function fallback(img) {
    img.hidden = true;
    const empty = img.parentElement.querySelector("[data-role=empty]");
    if (empty) empty.hidden = false;
  }
  document.addEventListener("error", (e) => {
    if (e.target.tagName === "IMG" && e.target.parentElement.querySelector("[data-role=empty]")) fallback(e.target);
  }, true);
  for (const img of document.querySelectorAll("img")) {
    if (img.complete && img.naturalWidth === 0 && img.parentElement.querySelector("[data-role=empty]")) fallback(img);
  }

  // --- the camera form -------------------------------------------------------------------------------------
  const cameraForm = document.querySelector("[data-station-filter]");
  if (cameraForm) {
    const grid = cameraForm.querySelector("select[name=grid]");
    const dependants = [...cameraForm.querySelectorAll("select[name=group], select[name=speakers]")];
    const apply = () => {
      const station = grid.selectedOptions[0]?.dataset.station;
      for (const select of dependants) {
        for (const option of select.options) {
          if (!option.dataset.station) continue;
          const other = !!station && option.dataset.station !== station;
          option.hidden = other;
          option.disabled = other;
          if (other) option.selected = false;
        }
      }
    };
    grid?.addEventListener("change", apply);
    if (grid) apply();
  }

  // --- the zone editor -------------------------------------------------------------------------------------
  const box = document.getElementById("zone-editor");
  if (box) zoneEditor(box);

  function zoneEditor(box) {
    const d = box.dataset;
    const card = box.closest(".card-body");
    const part = (role) => card.querySelector(`[data-role="${role}"]`);
    const svg = part("overlay");
    const list = part("zones");
    const editable = d.editable === "1";
    const NS = "http://www.w3.org/2000/svg";
    const max = Number(d.maxZones) || 8;
    let zones = JSON.parse(document.getElementById("camera-zones").textContent)
      .map((z) => ({ name: z.name, points: z.points.map((p) => [p[0], p[1]]) }));
    let draft = null; // the points of the zone being drawn
    let selected = -1;
    let dirty = false;
    let W = 1000;
    let H = 1000;

    function svgEl(tag, attrs) {
      const node = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      return node;
    }
    const coords = (points) => points.map(([x, y]) => `${(x * W).toFixed(1)},${(y * H).toFixed(1)}`).join(" ");

    function draw() {
      // The SVG's units follow the box's own aspect, so points and labels are not stretched.
      W = 1000;
      H = Math.max(1, Math.round((1000 * box.clientHeight) / Math.max(1, box.clientWidth)));
      svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
      svg.replaceChildren();
      zones.forEach((z, i) => {
        const shape = svgEl("polygon", { points: coords(z.points), class: "zone-shape" + (i === selected ? " selected" : "") });
        shape.dataset.index = i;
        svg.append(shape);
        const cx = z.points.reduce((a, p) => a + p[0], 0) / z.points.length;
        const cy = z.points.reduce((a, p) => a + p[1], 0) / z.points.length;
        const label = svgEl("text", { x: cx * W, y: cy * H, class: "zone-label", "text-anchor": "middle", "dominant-baseline": "middle" });
        label.textContent = z.name;
        svg.append(label);
      });
      if (draft) {
        if (draft.length > 1) svg.append(svgEl(draft.length > 2 ? "polygon" : "polyline", { points: coords(draft), class: "zone-draft" }));
        for (const [x, y] of draft) svg.append(svgEl("circle", { cx: x * W, cy: y * H, r: 6, class: "zone-point" }));
      }
    }

    function markDirty() {
      dirty = true;
      if (editable) { part("ok").hidden = true; hint(d.labelUnsaved); }
    }

    function hint(text) { const h = part("hint"); if (h) h.textContent = text || ""; }

    function renderList() {
      list.replaceChildren();
      if (!zones.length) { list.append(el("div", "list-group-item small text-secondary px-0", d.labelNone)); return; }
      zones.forEach((z, i) => {
        const item = el("div", "list-group-item d-flex align-items-center gap-2 px-0" + (i === selected ? " active" : ""));
        item.dataset.testid = "zone";
        const swatch = el("span", "legend-dot bg-red");
        item.append(swatch);
        if (editable) {
          const name = el("input", "form-control form-control-sm");
          name.value = z.name;
          name.maxLength = 40;
          name.setAttribute("aria-label", d.labelName);
          name.addEventListener("input", () => { z.name = name.value; markDirty(); draw(); });
          name.addEventListener("focus", () => { selected = i; draw(); });
          item.append(name);
        } else {
          item.append(el("span", "", z.name));
        }
        item.append(el("span", "small text-secondary text-nowrap", `${z.points.length} ${d.labelPoints}`));
        if (editable) {
          const del = el("button", "btn btn-sm btn-ghost-danger", d.labelDelete);
          del.type = "button";
          del.dataset.testid = "zone-delete";
          del.addEventListener("click", () => { zones.splice(i, 1); selected = -1; markDirty(); renderList(); draw(); });
          item.append(del);
        }
        list.append(item);
      });
    }

    function tools() {
      if (!editable) return;
      const drawing = draft !== null;
      box.classList.toggle("drawing", drawing);
      for (const b of card.querySelectorAll("[data-action]")) {
        const a = b.dataset.action;
        if (a === "add") b.hidden = drawing;
        if (a === "finish" || a === "undo" || a === "cancel") b.hidden = !drawing;
      }
      if (drawing) hint(d.labelHint);
    }

    function start() {
      part("error").hidden = true;
      if (zones.length >= max) { showError(d.labelTooMany); return; }
      draft = [];
      selected = -1;
      tools();
      draw();
    }

    function finish() {
      if (!draft) return;
      if (draft.length < 3) { hint(d.labelTooFew); return; }
      let n = zones.length + 1;
      while (zones.some((z) => z.name === `${d.labelZone}${n}`)) n += 1;
      zones.push({ name: `${d.labelZone}${n}`, points: draft });
      selected = zones.length - 1;
      draft = null;
      markDirty();
      tools();
      renderList();
      draw();
      list.querySelectorAll("input")[selected]?.focus();
    }

    function cancel() { draft = null; tools(); hint(dirty ? d.labelUnsaved : ""); draw(); }

    function showError(message) {
      const box_ = part("error");
      box_.textContent = message;
      box_.hidden = !message;
    }

    function point(e) {
      const rect = svg.getBoundingClientRect();
      const clamp = (v) => Math.min(1, Math.max(0, v));
      return [Number(clamp((e.clientX - rect.left) / rect.width).toFixed(4)), Number(clamp((e.clientY - rect.top) / rect.height).toFixed(4))];
    }

    svg.addEventListener("click", (e) => {
      if (draft) {
        const p = point(e);
        const last = draft[draft.length - 1];
        // The two clicks of a double-click land on one spot: one point.
        if (last && Math.abs(last[0] - p[0]) < 0.004 && Math.abs(last[1] - p[1]) < 0.004) return;
        draft.push(p);
        draw();
        return;
      }
      const index = e.target.dataset ? Number(e.target.dataset.index) : NaN;
      selected = Number.isInteger(index) ? index : -1;
      renderList();
      draw();
    });
    svg.addEventListener("dblclick", (e) => { if (draft) { e.preventDefault(); finish(); } });
    document.addEventListener("keydown", (e) => {
      if (!draft || ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName)) return;
      if (e.key === "Escape") cancel();
      if (e.key === "Enter") finish();
      if (e.key === "Backspace") { e.preventDefault(); draft.pop(); draw(); }
    });

    async function save(button) {
      showError("");
      if (draft) finish();
      if (draft) return;
      button.disabled = true;
      try {
        const data = await post(d.zonesUrl, { zones });
        zones = data.zones.map((z) => ({ name: z.name, points: z.points }));
        dirty = false;
        selected = -1;
        renderList();
        draw();
        hint("");
        const ok = part("ok");
        ok.textContent = d.labelSaved;
        ok.hidden = false;
        box.dataset.saved = String(Date.now());
      } catch (err) {
        showError(`${d.labelError}：${err.message}`);
      } finally {
        button.disabled = false;
      }
    }

    if (editable) {
      for (const b of card.querySelectorAll("[data-action]")) {
        b.addEventListener("click", () => {
          const a = b.dataset.action;
          if (a === "add") start();
          else if (a === "finish") finish();
          else if (a === "undo") { draft?.pop(); draw(); }
          else if (a === "cancel") cancel();
          else if (a === "save") save(b);
        });
      }
      window.addEventListener("beforeunload", (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });
    }
    new ResizeObserver(draw).observe(box);
    renderList();
    tools();
    draw();
    box.dataset.ready = "1";

    // The latest picture, refreshed while the page is open (the worker replaces it a few times a second).
    const img = part("picture") || box.querySelector("img");
    if (img) {
      const base = img.getAttribute("src");
      setInterval(() => {
        if (document.hidden) return;
        const probe = new Image();
        probe.onload = () => { img.src = probe.src; img.hidden = false; const empty = box.querySelector("[data-role=empty]"); if (empty) empty.hidden = true; };
        probe.src = `${base}?t=${Date.now()}`;
      }, 10000);
    }
  }

  if (!live) return;

  // --- the camera's status, live ---------------------------------------------------------------------------
  const cameraId = box ? Number(box.dataset.cameraId) : null;
  const cameraRows = document.querySelectorAll("tr[data-camera-id]");
  if (cameraId || cameraRows.length) {
    live.onMessage((msg) => {
      if (msg.type !== "camera") return;
      const p = msg.payload;
      if (cameraId === p.id) {
        setBadge(document.getElementById("camera-status"), CAMERA_BADGE[p.status] || "bg-secondary-lt", p.status_label, CAMERA_BADGE);
        const detail = document.getElementById("camera-detail");
        if (detail) detail.textContent = p.detail || "—";
      }
      const row = document.querySelector(`tr[data-camera-id="${p.id}"]`);
      if (row) setBadge(row.querySelector("[data-role=status]"), CAMERA_BADGE[p.status] || "bg-secondary-lt", p.status_label, CAMERA_BADGE);
    });
  }

  // --- the event list: new events on top, status changes in place --------------------------------------------
  const events = document.getElementById("event-list");
  if (events) {
    const f = events.dataset;
    const body = events.querySelector("tbody");
    const matches = (p) => (!f.camera || Number(f.camera) === p.camera.id) && (!f.station || Number(f.station) === p.station)
      && (!f.status || f.status === p.status) && (!f.end || p.detected_at.slice(0, 10) <= f.end);
    live.onMessage((msg) => {
      if (msg.type !== "event") return;
      const p = msg.payload;
      const existing = body.querySelector(`tr[data-event-id="${p.id}"]`);
      if (existing) {
        setBadge(existing.querySelector("[data-role=status]"), EVENT_BADGE[p.status] || "", p.status_label, EVENT_BADGE);
        return;
      }
      if (f.firstPage !== "1" || !matches(p)) return;
      body.querySelector("[data-role=empty-row]")?.remove();
      const row = el("tr", "table-active");
      row.dataset.eventId = p.id;
      const thumb = el("td");
      const link = el("a");
      link.href = p.url;
      if (p.snapshot) {
        const img = el("img", "rounded");
        img.src = p.snapshot;
        img.alt = "";
        img.width = 96;
        img.height = 54;
        img.style.objectFit = "cover";
        link.append(img);
      } else {
        link.append(el("span", "text-secondary small", f.labelNoPicture));
      }
      thumb.append(link);
      const when = el("td", "text-nowrap");
      const open = el("a", "", clock(p.detected_at));
      open.href = p.url;
      when.append(open);
      const camera = el("td");
      camera.append(el("div", "", p.camera.name), el("div", "small text-secondary", p.camera.location));
      const status = el("td");
      status.append(el("span", `badge ${EVENT_BADGE[p.status] || ""}`, p.status_label));
      status.firstChild.dataset.role = "status";
      row.append(thumb, when, camera, el("td", "", p.zone), el("td", "text-nowrap", `${(p.area * 100).toFixed(1)}%`), status);
      body.prepend(row);
      const count = document.getElementById("event-live-count");
      if (count) { count.hidden = false; count.textContent = `+${Number(count.dataset.n = (Number(count.dataset.n || 0) + 1))}`; }
    });
  }

  // --- one event: its status, live --------------------------------------------------------------------------
  const eventBox = document.getElementById("event-status");
  if (eventBox) {
    live.onMessage((msg) => {
      if (msg.type === "event" && msg.payload.id === Number(eventBox.dataset.eventId)) {
        setBadge(eventBox, EVENT_BADGE[msg.payload.status] || "", msg.payload.status_label, EVENT_BADGE);
      }
    });
  }

  // --- broadcasts: every delivery's status, live --------------------------------------------------------------
  const deliveries = document.getElementById("broadcast-deliveries");
  const broadcastRows = document.querySelectorAll("tr[data-broadcast-id]");
  if (deliveries || broadcastRows.length) {
    live.onMessage((msg) => {
      if (msg.type !== "broadcast") return;
      const p = msg.payload;
      if (deliveries && Number(deliveries.dataset.broadcastId) === p.id) {
        for (const dl of p.deliveries) {
          const row = deliveries.querySelector(`tr[data-delivery-id="${dl.id}"]`);
          if (!row) continue;
          row.dataset.status = dl.status;
          setBadge(row.querySelector("[data-role=status]"), DELIVERY_BADGE[dl.status] || "", dl.status_label, DELIVERY_BADGE);
          row.querySelector("[data-role=attempts]").textContent = dl.attempts;
          row.querySelector("[data-role=detail]").textContent = dl.detail || "";
          const retry = row.querySelector("[data-role=retry]");
          if (retry) retry.hidden = dl.status !== "failed";
        }
      }
      const row = document.querySelector(`tr[data-broadcast-id="${p.id}"]`);
      if (row) {
        const n = (s) => p.deliveries.filter((x) => s.includes(x.status)).length;
        row.querySelector("[data-role=delivered]").textContent = n(["delivered"]);
        row.querySelector("[data-role=failed]").textContent = n(["failed"]);
        row.querySelector("[data-role=pending]").textContent = n(["pending", "sending"]);
      }
    });
  }
})();
