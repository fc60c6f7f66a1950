// Doorstep mobile workspace: the shell's behaviour (ADR 0024) — tabs, today's work, the recording forms,
// the 待发送 list, the connection indicator, logout; and window.DoorstepMobile, the API lookup.js, map.js
// and dispatch.js build on:
//   api(path, {method, body}) -> Promise<object>   JSON with the CSRF header; throws Error(.status, .detail)
//   enqueue(kind, record, summary) -> Promise<clientId>   seal, store, try to send
//   position() -> Promise<{lng, lat, accuracy} | null>   10 s at most, null when refused
//   on(event, fn)   "today" (the /m/api/today object), "tab" (name), "online", "offline"
//   today() -> the last today object or null;   toast(text)
"use strict";

(function () {
  const Q = window.DoorstepQueue;
  const body = document.body;
  const API = body.dataset.api || "/m/api/";
  const USER_KEY = "doorstep.m.user";
  const POINTS_EVERY_MS = 60000;
  const POINTS_BATCH = 20;
  const MIN_FIX_GAP_MS = 2000;
  const VISIT_MAX_AGE_DAYS = 7;
  const PHOTO_MAX_PX = 1600;
  const TODAY_MAX_AGE_MS = 12 * 3600000; // the session's absolute limit: an older copy is not shown or kept
  const OTHER_USER = "本机待发送记录属于另一位用户，请用其账号登录后发送";

  const listeners = {};
  let todayData = null;
  let todayAt = null;
  let userKey = null;
  let store = null;
  let outbox = null;
  let currentTab = "today";
  let deviceConfirmed = false;

  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function hhmm(value) {
    const d = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(d.getTime())) return "";
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  }

  function dayTime(value) {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return "";
    return `${d.getMonth() + 1}月${d.getDate()}日 ${hhmm(d)}`;
  }

  // --- events -------------------------------------------------------------------------------------------
  function on(event, fn) {
    (listeners[event] = listeners[event] || []).push(fn);
    // A late subscriber to "today" gets the object already loaded (the other scripts start after this one).
    if (event === "today" && todayData) setTimeout(() => fn(todayData), 0);
  }

  function emit(event, data) {
    for (const fn of listeners[event] || []) {
      try {
        fn(data);
      } catch (error) {
        console.warn("DoorstepMobile listener failed", event, error);
      }
    }
  }

  // --- toast ----------------------------------------------------------------------------------------------
  let toastTimer = null;
  function toast(text) {
    const box = $("m-toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      box.hidden = true;
    }, 3500);
  }

  // An error's text for the officer: the browser's own (English) storage errors in Chinese.
  function say(error) {
    const name = error && error.name;
    if (error && error.detail) return error.detail;
    if (name === "QuotaExceededError") return "手机存储空间不足，请清理后再记录";
    if (name === "InvalidStateError" || name === "TransactionInactiveError" || name === "AbortError" || (store && store.closed)) {
      return "本机数据库已关闭，请刷新页面后再试";
    }
    if (name === "NotAllowedError" || name === "SecurityError") return "浏览器不允许本机存储，请检查设置";
    const text = (error && error.message) || "";
    return /[\u4e00-\u9fff]/.test(text) ? text : "操作失败，请稍后再试";
  }

  // --- api ------------------------------------------------------------------------------------------------
  function csrf() {
    return decodeURIComponent((document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "");
  }

  function showRelogin(show) {
    $("m-relogin").hidden = !show;
  }

  async function api(path, options) {
    const { method = "GET", body: payload, timeout = 30000, background = false } = options || {};
    const url = path.startsWith("/") ? path : API + path;
    const headers = { Accept: "application/json", "X-CSRFToken": csrf() };
    // The page's own timers and retries are not the officer's activity: they must not keep an unattended
    // session alive past the idle limit (the server does not slide the idle window for them).
    if (background) headers["X-Doorstep-Background"] = "1";
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: payload === undefined ? undefined : JSON.stringify(payload),
        credentials: "same-origin",
        signal: controller.signal,
      });
    } catch (cause) {
      const error = new Error("网络不可用，请稍后再试");
      error.status = 0;
      error.detail = error.message;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (cause) {
      data = null;
    }
    // A redirect to the login page instead of JSON is a lost session too.
    const status = response.redirected && /\/accounts\/login\//.test(response.url) ? 401 : response.status;
    if (status >= 400 || data === null) {
      const detail = (data && data.detail) || (status === 401 ? "登录已过期，请重新登录" : `服务器错误（${status}）`);
      const error = new Error(detail);
      error.status = status;
      error.detail = detail;
      error.code = data && data.code;
      error.data = data;
      if (status === 401) showRelogin(true);
      throw error;
    }
    if (status < 300) showRelogin(false);
    return data;
  }

  // --- position ---------------------------------------------------------------------------------------------
  function fromPosition(p) {
    return { lng: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy };
  }

  function position() {
    if (!navigator.geolocation) return Promise.resolve(null);
    return new Promise((resolve) => {
      navigator.geolocation.getCurrentPosition(
        (p) => resolve(fromPosition(p)),
        () => resolve(null),
        { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 },
      );
    });
  }

  // --- queue ------------------------------------------------------------------------------------------------
  async function refreshQueue() {
    const items = store && !store.closed ? await store.items() : [];
    const badge = $("queue-badge");
    badge.textContent = String(items.length);
    badge.dataset.count = String(items.length);
    badge.classList.toggle("m-badge-alert", items.some((i) => i.state !== "waiting"));
    const list = $("queue-list");
    list.replaceChildren(...items.map(queueCard));
    $("queue-empty").hidden = items.length > 0;
  }

  const STATE_LABELS = { waiting: "待发送", conflict: "有冲突", rejected: "被退回" };
  const KIND_LABELS = {
    visit: "入户走访",
    patrol_start: "开始巡逻",
    patrol_points: "巡逻轨迹",
    patrol_finding: "巡逻发现",
    patrol_finish: "结束巡逻",
    clock_in: "签到",
    clock_out: "签退",
    alarm_receive: "接收派警",
    alarm_arrive: "到达现场",
  };

  function queueCard(item) {
    return el(
      "div",
      { class: `m-card m-qitem m-q-${item.state}`, dataset: { item: item.id, state: item.state } },
      el(
        "div",
        { class: "d-flex justify-content-between gap-2" },
        el("div", { class: "fw-bold m-wrap", text: item.summary || KIND_LABELS[item.kind] || item.kind }),
        el("span", { class: `badge m-state m-state-${item.state}`, text: STATE_LABELS[item.state] || item.state }),
      ),
      el("div", { class: "small text-secondary", text: `${KIND_LABELS[item.kind] || item.kind} · ${dayTime(item.recorded_at)}` }),
      item.detail ? el("div", { class: "m-detail", "data-testid": "queue-detail", text: item.detail }) : null,
      item.options && item.options.length
        ? el(
            "div",
            { class: "d-flex flex-wrap gap-2 mt-2" },
            item.options.map((option) =>
              el("button", {
                type: "button",
                class: `btn m-opt ${option.value === "discard" ? "btn-outline-danger" : "btn-primary"}`,
                dataset: { option: option.value },
                text: option.label || option.value,
                onclick: () => resolveItem(item.id, option.value),
              }),
            ),
          )
        : null,
    );
  }

  async function resolveItem(id, option) {
    if (!outbox) return;
    try {
      const item = await store.item(id);
      const answer = await outbox.resolve(id, option);
      if (answer) {
        toast({ applied: "已发送", discarded: "已放弃", waiting: "已放回待发送" }[answer.status] || answer.detail || "仍有冲突");
      }
      // A discarded patrol start: its track, findings and finish can never be taken — offered in one tap.
      if (answer && answer.status === "discarded" && item && item.kind === "patrol_start") {
        const rest = await outbox.dependents(id);
        if (rest.length && window.confirm(`该巡逻还有${rest.length}条后续记录（轨迹、发现、结束）无法发送，一并放弃？`)) {
          for (const other of rest) await store.remove(other.id);
        }
        if (patrol && String(patrol.ref) === String(id)) {
          resetPatrolState();
          await store.del("patrol");
          renderPatrol();
        }
      }
    } catch (error) {
      toast(error.detail || "操作失败，请稍后再试");
    }
    refreshQueue();
  }

  function needStore() {
    if (!outbox) {
      const error = new Error("工作台尚未就绪：请联网打开一次");
      error.code = "no_store";
      throw error;
    }
  }

  // Seal and keep a record; try to send it now. The toast says where it is.
  async function enqueue(kind, record, summary) {
    const id = await add(kind, record, summary);
    let state = "waiting";
    if (navigator.onLine) {
      await Promise.race([outbox.flush(true), sleep(15000)]);
      const item = await store.item(id);
      state = item ? item.state : "sent";
    }
    toast(
      {
        sent: "已发送",
        conflict: "有冲突，请在“待发送”中处理",
        rejected: "被退回，请在“待发送”中查看原因",
      }[state] || "已保存到本机，待发送",
    );
    return id;
  }

  // Keep a record without a toast (track points): sent with the next flush.
  async function add(kind, record, summary) {
    needStore();
    try {
      return await outbox.add(kind, record, summary);
    } catch (error) {
      if (error.code === "no_device") $("m-nodevice").hidden = false;
      throw error;
    }
  }

  function deviceLabel() {
    const ua = navigator.userAgent || "";
    const inside = (ua.match(/\(([^)]*)\)/) || [])[1] || "";
    const browser = (ua.match(/(Chrome|Firefox|Safari|Edg|MicroMessenger)\/[\d.]+/) || [])[0] || "";
    return `${inside.split(";").slice(0, 2).join(";")} ${browser}`.trim().slice(0, 100) || "浏览器";
  }

  async function openStore(key) {
    deviceConfirmed = false;
    store = await Q.Store.open(key);
    await openOutbox();
  }

  async function openOutbox() {
    outbox = new Q.Outbox(store, {
      api,
      onChange: (item, answer) => {
        refreshQueue();
        if (answer && answer.status === "applied") refreshTodaySoon();
      },
      onRevoked: (deviceId, current) => revoked(deviceId, current),
      onOtherUser: () => otherUser(),
    });
  }

  function resetPatrolState() {
    stopTracking();
    patrol = null;
    buffer = [];
    fixCount = 0;
  }

  // A device of this phone was revoked (lost phone, "sign out everywhere"): the records sealed for it go —
  // only those — and, still signed in, the phone enrols anew.
  async function revoked(deviceId, current) {
    if (!store || store.closed) return;
    const dropped = await outbox.dropDevice(deviceId);
    if (dropped) {
      $("m-revoked").hidden = false;
      toast("本机已被注销，未发送的记录已清除");
    }
    const local = await store.get("patrol");
    if (local && !(await store.item(String(local.ref))) && typeof local.ref !== "number") {
      await store.del("patrol"); // its start went with the revoked device
      resetPatrolState();
    }
    if (current) {
      outbox.stop();
      await openOutbox();
      if (navigator.onLine) {
        try {
          await outbox.ensureDevice(deviceLabel(), todayData && todayData.user ? todayData.user.id : undefined, true);
        } catch (error) {
          console.warn("re-enrolment failed", error);
        }
      }
    }
    await refreshQueue();
    await syncPatrolWithToday();
    body.dataset.ready = (await store.get("device")) ? "device" : "shell";
    if (outbox) outbox.flush();
  }

  // The records in this database belong to another user than the one signed in: never sent, never wiped.
  async function otherUser() {
    if (outbox) outbox.stop();
    $("m-otheruser").hidden = false;
    toast(OTHER_USER);
  }

  // The device was revoked (lost phone, "sign out everywhere"): the local database goes, with the queue.
  async function wipe(revoked) {
    resetPatrolState();
    if (outbox) outbox.stop();
    if (store) store.close();
    outbox = null;
    store = null;
    if (userKey) await Q.destroy(userKey);
    if (revoked) {
      $("m-revoked").hidden = false;
      toast("本机已被注销，未发送的记录已清除");
    }
    await refreshQueue();
    renderPatrol();
    // Still signed in (a new login after the revocation): start over with a new device.
    if (revoked && userKey && navigator.onLine) {
      try {
        await openStore(userKey);
        if (todayData) await store.set("today", { data: todayData, at: Date.now() });
        await outbox.ensureDevice(deviceLabel());
        await refreshQueue();
      } catch (error) {
        console.warn("re-enrolment failed", error);
      }
    }
  }

  // --- connection ---------------------------------------------------------------------------------------------
  function showConnection() {
    const online = navigator.onLine;
    const badge = $("m-conn");
    badge.textContent = online ? "在线" : "离线";
    badge.dataset.state = online ? "online" : "offline";
    body.classList.toggle("m-offline", !online);
  }

  window.addEventListener("online", () => {
    showConnection();
    emit("online");
    // Confirm the device before anything new is sealed to it, send, then reload today: today's answer then
    // already reflects what was recorded offline (a finished patrol).
    confirmDevice()
      .then(() => outbox && outbox.wake())
      .catch(() => {})
      .finally(() => loadToday(true));
  });
  window.addEventListener("offline", () => {
    showConnection();
    emit("offline");
  });

  // --- tabs ----------------------------------------------------------------------------------------------------
  function showTab(name) {
    currentTab = name;
    for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== name;
    for (const button of document.querySelectorAll(".m-tab")) {
      const active = button.dataset.tab === name;
      button.classList.toggle("active", active);
      if (active) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    window.scrollTo(0, 0);
    if (name === "queue") refreshQueue();
    if (name === "record") {
      freshTime("visit-at");
      freshTime("patrol-started");
    }
    emit("tab", name);
  }

  // A default time (visit, patrol start) is "now" when the form is shown, unless the officer set it.
  function freshTime(id) {
    const input = $(id);
    if (!input.dataset.edited) input.value = localInput();
  }

  function showForm(name) {
    if (name === "visit") freshTime("visit-at");
    if (name === "patrol") freshTime("patrol-started");
    for (const panel of document.querySelectorAll("[data-form-panel]")) panel.hidden = panel.dataset.formPanel !== name;
    for (const button of document.querySelectorAll(".m-seg-btn")) button.classList.toggle("active", button.dataset.form === name);
  }

  // --- today ---------------------------------------------------------------------------------------------------
  async function loadToday(background) {
    if (!navigator.onLine) return null;
    try {
      const data = await api("today", { background: Boolean(background) });
      if (!(await adoptUser(data))) return null;
      todayData = data;
      todayAt = null;
      if (store && !store.closed) await store.set("today", { data, at: Date.now() });
      renderToday();
      return data;
    } catch (error) {
      if (error.status === 0 && !todayData) $("today-loading").textContent = "离线，暂无本机数据";
      return null;
    }
  }

  // A record was saved on the server: today's lists change (a visit done, clocked in); one reload for a burst.
  let todayTimer = null;
  function refreshTodaySoon() {
    clearTimeout(todayTimer);
    todayTimer = setTimeout(() => loadToday(true), 1500);
  }

  function box(name, items) {
    $(`today-${name}-box`).hidden = !items;
    return $(`today-${name}`);
  }

  function linkItem(item, extra) {
    return el(
      "a",
      {
        class: "m-card m-link",
        href: item.url || "#",
        onclick: (event) => {
          if (!navigator.onLine) {
            event.preventDefault();
            toast("离线时无法打开，请联网后再看");
          }
        },
      },
      el("div", { class: "fw-bold m-wrap", text: item.label || item.title || "" }),
      el("div", { class: "small text-secondary", text: [item.status_label || item.status, item.due ? `期限 ${item.due}` : "", extra].filter(Boolean).join(" · ") }),
    );
  }

  function visitList(data) {
    const visits = (data && data.visits) || {};
    return {
      overdue: Array.isArray(visits.overdue) ? visits.overdue : [],
      due: Array.isArray(visits.due) ? visits.due : [],
    };
  }

  function renderToday() {
    const data = todayData;
    $("today-loading").hidden = Boolean(data);
    if (!data) return;
    const user = data.user || {};
    $("m-user").textContent = [user.name, user.role_label].filter(Boolean).join(" · ");
    const stamp = $("today-stamp");
    stamp.hidden = !todayAt;
    if (todayAt) stamp.textContent = `离线数据，更新于 ${hhmm(todayAt)}`;

    const alarms = Array.isArray(data.alarms) ? data.alarms : [];
    box("alarms", alarms.length).replaceChildren(
      ...alarms.map((alarm) =>
        el(
          "div",
          { class: "m-card m-alarm", dataset: { alarm: alarm.id } },
          el("div", { class: "d-flex justify-content-between gap-2" },
            el("div", { class: "fw-bold m-wrap", text: alarm.unit || "" }),
            el("span", { class: "badge bg-red-lt", text: alarm.state_label || "" })),
          el("div", { class: "small text-secondary m-wrap", text: alarm.address || "" }),
          el("div", { class: "small text-secondary", text: alarm.dispatched_at ? `派警 ${hhmm(alarm.dispatched_at)}` : "" }),
          el("div", { class: "m-alarm-actions", "data-alarm-actions": alarm.id }),
        ),
      ),
    );

    const visits = visitList(data);
    const visitCard = (visit, overdue) =>
      el(
        "button",
        {
          type: "button",
          class: `m-card m-visit${overdue ? " m-overdue" : ""}`,
          dataset: { household: visit.id },
          onclick: () => openVisit(visit.id, visit.label),
        },
        el("span", { class: `m-dot m-dot-${visit.colour || "none"}` }),
        el("span", { class: "m-visit-text" },
          el("span", { class: "m-wrap", text: visit.label || "" }),
          el("small", { class: overdue ? "text-danger" : "text-secondary", text: `${overdue ? "已逾期" : "应走访"} ${visit.next_visit_due || ""}` })),
        el("i", { class: "ti ti-chevron-right" }),
      );
    box("visits", visits.overdue.length + visits.due.length).replaceChildren(
      ...visits.overdue.map((v) => visitCard(v, true)),
      ...visits.due.map((v) => visitCard(v, false)),
    );
    fillHouseholds();

    const duty = dutyInfo(data);
    box("duty", duty).replaceChildren(...(duty ? [dutyCard(duty)] : []));
    $("record-duty").replaceChildren(duty ? dutyCard(duty) : el("div", { class: "m-empty text-secondary", text: "今天没有警务室值守排班" }));

    const patrols = data.patrols || null;
    box("patrol", patrols).replaceChildren(...(patrols ? [patrolCard()] : []));
    fillPatrolChoices();
    syncPatrolWithToday();

    const disputes = Array.isArray(data.disputes) ? data.disputes : [];
    box("disputes", disputes.length).replaceChildren(...disputes.map((d) => linkItem(d)));
    const desk = Array.isArray(data.desk) ? data.desk : [];
    box("desk", desk.length).replaceChildren(...desk.map((d) => linkItem(d)));

    $("today-empty").hidden = Boolean(alarms.length || visits.overdue.length || visits.due.length || duty || patrols || disputes.length || desk.length);
    emit("today", data);
  }

  // --- duty ----------------------------------------------------------------------------------------------------
  // today.duty: the shift now or next at a police room and whether an attendance is open.
  function dutyInfo(data) {
    const duty = data && data.duty;
    if (!duty) return null;
    const shift = duty.shift || {};
    const room = duty.room || shift.room;
    const roomId = room && typeof room === "object" ? room.id : room || shift.room_id || duty.room_id;
    if (!roomId && !duty.clocked_in) return null;
    // While clocked in, the card is about that attendance: a next shift at another room is not its time.
    const shiftRoom = shift.room && typeof shift.room === "object" ? shift.room.id : shift.room;
    const shiftHere = !duty.clocked_in || (shiftRoom && roomId && Number(shiftRoom) === Number(roomId));
    const attendance = duty.attendance || {};
    return {
      room: roomId ? Number(roomId) : null,
      roomName: (room && room.name) || shift.room_name || duty.room_name || "",
      starts: shiftHere ? shift.starts || shift.starts_at || "" : "",
      ends: shiftHere ? shift.ends || shift.ends_at || "" : "",
      clockedIn: Boolean(duty.clocked_in),
      clockedInAt: attendance.clock_in_at || "",
    };
  }

  function dutyCard(duty) {
    const when = duty.starts ? `${dayTime(duty.starts)} – ${hhmm(duty.ends)}` : "";
    return el(
      "div",
      { class: "m-card" },
      el("div", { class: "fw-bold", text: duty.roomName || "警务室值守" }),
      el("div", { class: "small text-secondary", text: [when, duty.clockedIn ? `已签到${duty.clockedInAt ? " " + hhmm(duty.clockedInAt) : ""}` : "未签到"].filter(Boolean).join(" · ") }),
      el("div", { class: "d-flex gap-2 mt-2" },
        // 签到 only while not clocked in (the server would refuse a second one); 签退 stays, as a clock-in made
        // offline is not in this list yet.
        el("button", { type: "button", class: "btn btn-success flex-fill m-big", "data-testid": "clock-in", text: "签到", disabled: !duty.room || duty.clockedIn, onclick: (event) => clock("clock_in", duty, event) }),
        el("button", { type: "button", class: "btn btn-outline-secondary flex-fill m-big", "data-testid": "clock-out", text: "签退", onclick: (event) => clock("clock_out", duty, event) })),
    );
  }

  let clocking = false;
  async function clock(kind, duty, event) {
    if (clocking) return; // a double tap records once
    clocking = true;
    const button = event && event.currentTarget;
    if (button) button.disabled = true;
    try {
      await clockNow(kind, duty);
    } finally {
      clocking = false;
      if (button && button.isConnected) button.disabled = kind === "clock_in" && (!duty.room || duty.clockedIn);
    }
  }

  async function clockNow(kind, duty) {
    const where = await position();
    if (!where) toast("无法获取定位，记录将不含位置");
    const record = { room: duty.room, lng: where ? where.lng : null, lat: where ? where.lat : null, accuracy: where ? where.accuracy : null, at: Q.isoNow() };
    try {
      await enqueue(kind, record, `${kind === "clock_in" ? "签到" : "签退"} · ${duty.roomName || "警务室"}`);
    } catch (error) {
      toast(say(error));
    }
  }

  // --- forms: helpers ------------------------------------------------------------------------------------
  function invalid(input, message) {
    input.classList.add("is-invalid");
    const feedback = input.parentElement.querySelector(".invalid-feedback");
    if (feedback) feedback.textContent = message;
  }

  function clearErrors(form) {
    for (const input of form.querySelectorAll(".is-invalid")) input.classList.remove("is-invalid");
    for (const feedback of form.querySelectorAll(".invalid-feedback")) feedback.textContent = "";
  }

  function localInput(date) {
    const d = date || new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function fromLocalInput(value) {
    if (!value) return null;
    const d = new Date(value); // a datetime-local value is the phone's local time
    return Number.isNaN(d.getTime()) ? null : d;
  }

  // A photo from the camera, at most 1600 px on its long side, as a JPEG data URL (quality 0.8).
  async function photoData(input) {
    const file = input.files && input.files[0];
    if (!file) return null;
    if (!/^image\//.test(file.type)) throw new Error("请选择图片文件");
    const url = URL.createObjectURL(file);
    try {
      const image = await new Promise((resolve, reject) => {
        const img = new Image();
        img.onload = () => resolve(img);
        img.onerror = () => reject(new Error("无法读取照片，请重新拍摄"));
        img.src = url;
      });
      const scale = Math.min(1, PHOTO_MAX_PX / Math.max(image.naturalWidth, image.naturalHeight));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
      canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      return canvas.toDataURL("image/jpeg", 0.8);
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  // A submit handler that runs once at a time: the second tap of a double tap does nothing (the flag and the
  // disabled button are set before the first await — photo and position take seconds).
  function once(handler) {
    return async (event) => {
      event.preventDefault();
      const form = event.currentTarget;
      const button = form.querySelector("[type=submit]");
      if (form.dataset.busy) return;
      form.dataset.busy = "1";
      if (button) button.disabled = true;
      try {
        await handler(event);
      } catch (error) {
        toast(say(error));
      } finally {
        delete form.dataset.busy;
        if (button) button.disabled = false;
      }
    };
  }

  async function busy(button, work) {
    button.disabled = true;
    try {
      return await work();
    } finally {
      button.disabled = false;
    }
  }

  // --- visit form ------------------------------------------------------------------------------------------
  const extraHouseholds = new Map(); // households chosen from the lookup tab (id -> label)

  function fillHouseholds() {
    const select = $("visit-household");
    const chosen = select.value;
    const visits = visitList(todayData);
    const seen = new Set();
    const options = [el("option", { value: "", text: "请选择（今日待走访户）" })];
    for (const [group, list] of [["已逾期", visits.overdue], ["应走访", visits.due]]) {
      for (const visit of list) {
        if (seen.has(String(visit.id))) continue;
        seen.add(String(visit.id));
        options.push(el("option", { value: visit.id, text: `${group} · ${visit.label || visit.id}` }));
      }
    }
    for (const [id, label] of extraHouseholds) {
      if (!seen.has(id)) options.push(el("option", { value: id, text: label }));
    }
    select.replaceChildren(...options);
    select.value = chosen;
  }

  function openVisit(household, label) {
    const id = String(household);
    // Kept for the form even when a fresher today's list no longer has it (visited meanwhile).
    const known = [...$("visit-household").options].find((o) => o.value === id);
    extraHouseholds.set(id, label || (known ? known.textContent.replace(/^(已逾期|应走访) · /, "") : `住户 ${id}`));
    fillHouseholds();
    $("visit-household").value = id;
    $("visit-at").value = localInput();
    delete $("visit-at").dataset.edited;
    showTab("record");
    showForm("visit");
    $("visit-findings").focus();
  }

  document.addEventListener("doorstep:visit", (event) => {
    const detail = event.detail || {};
    if (detail.household) openVisit(detail.household, detail.label);
  });

  // A new dispatch reached this page (dispatch.js): today's list shows it at the top at once.
  document.addEventListener("doorstep:dispatch", () => loadToday(true));

  async function submitVisit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    clearErrors(form);
    const household = $("visit-household");
    const findings = $("visit-findings");
    const at = $("visit-at");
    const photo = $("visit-photo");
    let ok = true;
    if (!household.value || !/^\d+$/.test(household.value)) {
      invalid(household, "请选择走访户");
      ok = false;
    }
    if (!findings.value.trim()) {
      invalid(findings, "请填写走访情况");
      ok = false;
    }
    const when = fromLocalInput(at.value);
    if (!when) {
      invalid(at, "请填写走访时间");
      ok = false;
    } else if (when.getTime() > Date.now() + 5 * 60000) {
      invalid(at, "走访时间不能晚于现在");
      ok = false;
    } else if (when.getTime() < Date.now() - VISIT_MAX_AGE_DAYS * 86400000) {
      invalid(at, "走访时间不能早于7天前");
      ok = false;
    }
    let data = null;
    if (ok) {
      try {
        data = await photoData(photo);
      } catch (error) {
        invalid(photo, error.message);
        ok = false;
      }
    }
    if (!ok) return;
    const label = household.selectedOptions[0] ? household.selectedOptions[0].textContent.replace(/^(已逾期|应走访) · /, "") : "";
    await busy(form.querySelector("[type=submit]"), async () => {
      try {
        await enqueue(
          "visit",
          { household: Number(household.value), findings: findings.value.trim(), visited_at: Q.isoNow(when), photo: data },
          `走访 · ${label}`,
        );
        form.reset();
        delete at.dataset.edited;
        at.value = localInput();
      } catch (error) {
        toast(say(error));
      }
    });
  }

  // --- patrol ----------------------------------------------------------------------------------------------
  // The running patrol: {ref: start record's client id or the server id, label, started_at}, kept in the
  // database so a reload resumes it. Track fixes wait in memory only and are sealed in batches.
  let patrol = null;
  let watchId = null;
  let buffer = [];
  let lastFixAt = 0;
  let packTimer = null;
  let fixCount = 0;
  let gpsFailing = false;

  function option(value, text) {
    return el("option", { value, text });
  }

  function fillPatrolChoices() {
    const p = (todayData && todayData.patrols) || {};
    const list = (name) => (Array.isArray(p[name]) ? p[name] : []);
    const keep = (select, options) => {
      const chosen = select.value;
      select.replaceChildren(...options);
      if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
    };
    const communities = list("communities");
    keep($("patrol-community"), [
      ...(communities.length === 1 ? [] : [option("", "请选择社区")]),
      ...communities.map((c) => option(c.id, c.name)),
    ]);
    const community = $("patrol-community").value;
    const mine = (item) => !community || !item.community || String(item.community) === community || String(item.community_id) === community;
    keep($("patrol-grid"), [option("", "（不限）"), ...list("grids").filter(mine).map((g) => option(g.id, g.name))]);
    keep($("patrol-team"), [option("", "（无）"), ...list("teams").filter(mine).map((t) => option(t.id, t.name))]);
    keep($("patrol-plan"), [option("", "（无）"), ...list("plans").filter(mine).map((pl) => option(pl.id, pl.title || pl.name || pl.label))]);
  }

  function runningServerId() {
    const running = todayData && todayData.patrols && todayData.patrols.running;
    if (!running) return null;
    return typeof running === "object" ? running.id : running;
  }

  async function syncPatrolWithToday() {
    if (!store || store.closed) return;
    const server = runningServerId();
    const running = todayData && !todayAt && todayData.patrols && todayData.patrols.running;
    // The server holds this patrol's points up to next_seq - 1 (a wiped phone, the older patrol page):
    // new points are numbered after them, or the server would drop them as already known.
    if (running && typeof running === "object" && Number.isInteger(running.next_seq)) {
      await store.atLeast("seq", running.next_seq);
    }
    const local = await store.get("patrol");
    const finishing = (await store.items()).some((i) => i.kind === "patrol_finish");
    if (!local && server && !finishing) {
      patrol = { ref: Number(server), label: "进行中的巡逻", started_at: null };
      await store.set("patrol", patrol);
    } else if (local && typeof local.ref === "number" && !todayAt && String(server) !== String(local.ref)) {
      patrol = null; // ended on another device or on the desk
      await store.del("patrol");
      stopTracking();
    } else {
      patrol = local || null;
    }
    renderPatrol();
  }

  function patrolCard() {
    if (patrol) {
      return el("div", { class: "m-card" },
        el("div", { class: "fw-bold", text: "巡逻进行中" }),
        el("div", { class: "small text-secondary", text: patrol.label || "" }),
        el("button", { type: "button", class: "btn btn-primary w-100 mt-2 m-big", text: "记录轨迹 / 结束", onclick: () => { showTab("record"); showForm("patrol"); } }));
    }
    return el("button", { type: "button", class: "btn btn-success w-100 m-big", "data-testid": "today-patrol-start", text: "开始巡逻", onclick: () => { showTab("record"); showForm("patrol"); } });
  }

  function renderPatrol() {
    const running = Boolean(patrol);
    $("form-patrol-start").hidden = running;
    $("patrol-running").hidden = !running;
    if (!$("patrol-started").value) $("patrol-started").value = localInput();
    if (running) {
      $("patrol-live-info").textContent = [patrol.label, patrol.started_at ? `开始于 ${hhmm(patrol.started_at)}` : ""].filter(Boolean).join(" · ");
      $("patrol-track").textContent = watchId !== null ? "暂停记录轨迹" : "记录轨迹";
      $("patrol-track").classList.toggle("active", watchId !== null);
    }
    $("patrol-fixes").textContent = String(fixCount);
    $("patrol-buffer").textContent = String(buffer.length);
    if (todayData && todayData.patrols) box("patrol", true).replaceChildren(patrolCard());
  }

  async function submitPatrolStart(event) {
    event.preventDefault();
    const form = event.currentTarget;
    clearErrors(form);
    const community = $("patrol-community");
    const participants = $("patrol-participants");
    const volunteers = $("patrol-volunteers");
    const started = $("patrol-started");
    let ok = true;
    if (!community.value) {
      invalid(community, "请选择社区");
      ok = false;
    }
    const people = Number(participants.value);
    if (!Number.isInteger(people) || people < 1 || people > 500) {
      invalid(participants, "参加人数应在1到500之间");
      ok = false;
    }
    const helpers = Number(volunteers.value || 0);
    if (!Number.isInteger(helpers) || helpers < 0 || helpers > people) {
      invalid(volunteers, "志愿者人数不能超过参加人数");
      ok = false;
    }
    const when = fromLocalInput(started.value);
    if (!when) {
      invalid(started, "请填写开始时间");
      ok = false;
    } else if (when.getTime() > Date.now() + 5 * 60000) {
      invalid(started, "开始时间不能晚于现在");
      ok = false;
    }
    if (!ok) return;
    const idOrNull = (select) => (select.value ? Number(select.value) : null);
    const label = community.selectedOptions[0] ? community.selectedOptions[0].textContent : "";
    const record = {
      community: Number(community.value),
      grid: idOrNull($("patrol-grid")),
      team: idOrNull($("patrol-team")),
      plan: idOrNull($("patrol-plan")),
      participants: people,
      volunteers: helpers,
      started_at: Q.isoNow(when),
    };
    await busy(form.querySelector("[type=submit]"), async () => {
      try {
        const ref = await enqueue("patrol_start", record, `开始巡逻 · ${label}`);
        resetPatrolState();
        patrol = { ref, label, started_at: record.started_at };
        await store.set("patrol", patrol);
        delete started.dataset.edited;
        startTracking();
        renderPatrol();
      } catch (error) {
        toast(say(error));
      }
    });
  }

  function startTracking() {
    if (!patrol || watchId !== null || !navigator.geolocation) return;
    gpsFailing = false;
    watchId = navigator.geolocation.watchPosition((p) => {
      gpsFailing = false;
      onFix(p);
    }, () => {
      if (!gpsFailing) toast("无法获取定位，请检查定位权限"); // once per streak of failures
      gpsFailing = true;
    }, {
      enableHighAccuracy: true,
      maximumAge: 0,
      timeout: 30000,
    });
    clearInterval(packTimer);
    packTimer = setInterval(() => pack(), POINTS_EVERY_MS);
    renderPatrol();
  }

  function stopTracking() {
    if (watchId !== null && navigator.geolocation) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    clearInterval(packTimer);
    packTimer = null;
  }

  async function onFix(p) {
    if (!patrol || !store || store.closed) return;
    const now = Date.now();
    if (now - lastFixAt < MIN_FIX_GAP_MS) return;
    lastFixAt = now;
    const fix = fromPosition(p);
    const ref = patrol.ref;
    const seq = await store.next("seq");
    // The patrol ended (or another began, or tracking stopped) while the number was taken: not this one's.
    if (!patrol || patrol.ref !== ref || watchId === null) return;
    buffer.push({ seq, at: Q.isoNow(new Date(p.timestamp || now)), lng: fix.lng, lat: fix.lat, accuracy: fix.accuracy });
    fixCount += 1;
    if (buffer.length >= POINTS_BATCH) await pack();
    renderPatrol();
  }

  // Seal the fixes collected so far as one patrol_points record.
  async function pack() {
    if (!patrol || !buffer.length) return;
    const points = buffer.splice(0);
    try {
      await add("patrol_points", { patrol: patrol.ref, points }, `巡逻轨迹 · ${points.length}个定位点`);
      if (navigator.onLine) outbox.flush();
    } catch (error) {
      buffer.unshift(...points);
      toast(say(error));
    }
    renderPatrol();
  }

  async function submitFinding(event) {
    event.preventDefault();
    const form = event.currentTarget;
    clearErrors(form);
    if (!patrol) return;
    const note = $("finding-note");
    const photo = $("finding-photo");
    const handOver = $("finding-hand-over").checked;
    const kind = $("finding-kind").value;
    let ok = true;
    if (!note.value.trim()) {
      invalid(note, "请填写发现的情况");
      ok = false;
    }
    if (handOver && !["dispute", "incident"].includes(kind)) {
      invalid($("finding-kind"), "只有矛盾纠纷和警情/案件可以移交");
      ok = false;
    }
    const partyA = $("finding-party-a").value.trim();
    const partyB = $("finding-party-b").value.trim();
    if (handOver && kind === "dispute" && (!partyA || !partyB)) {
      $("finding-parties-error").textContent = "移交调解须填写纠纷双方当事人姓名";
      ok = false;
    } else {
      $("finding-parties-error").textContent = "";
    }
    let data = null;
    if (ok) {
      try {
        data = await photoData(photo);
      } catch (error) {
        invalid(photo, error.message);
        ok = false;
      }
    }
    if (!ok) return;
    const where = await position();
    await busy(form.querySelector("[type=submit]"), async () => {
      try {
        await pack();
        await enqueue(
          "patrol_finding",
          {
            patrol: patrol.ref,
            kind,
            note: note.value.trim(),
            lng: where ? where.lng : null,
            lat: where ? where.lat : null,
            photo: data,
            hand_over: handOver,
            party_a: partyA,
            party_b: partyB,
            at: Q.isoNow(),
          },
          `巡逻发现 · ${$("finding-kind").selectedOptions[0].textContent}`,
        );
        form.reset();
        $("finding-parties").hidden = true;
      } catch (error) {
        toast(say(error));
      }
    });
  }

  async function submitFinish(event) {
    event.preventDefault();
    const form = event.currentTarget;
    clearErrors(form);
    if (!patrol) return;
    const summary = $("patrol-summary");
    if (summary.value.length > 500) {
      invalid(summary, "巡逻情况最多500字");
      return;
    }
    await busy(form.querySelector("[type=submit]"), async () => {
      try {
        stopTracking();
        await pack();
        await enqueue("patrol_finish", { patrol: patrol.ref, summary: summary.value.trim(), finished_at: Q.isoNow() }, `结束巡逻 · ${patrol.label || ""}`);
        resetPatrolState();
        await store.del("patrol");
        form.reset();
        delete $("patrol-started").dataset.edited;
        $("patrol-started").value = localInput();
        renderPatrol();
      } catch (error) {
        toast(say(error));
      }
    });
  }

  // --- logout ----------------------------------------------------------------------------------------------
  async function logout() {
    if (!navigator.onLine) {
      toast("请联网后退出"); // offline the session cannot end: nothing is deleted
      return;
    }
    const items = store && !store.closed ? await store.items() : [];
    if (items.length && !window.confirm(`还有${items.length}条记录未发送，退出将清除，确定退出？`)) return;
    const device = store && !store.closed ? await store.get("device") : null;
    if (device && navigator.onLine) {
      try {
        await api(`device/${encodeURIComponent(device.device)}/revoke`, { method: "POST", body: {} });
      } catch (error) {
        // offline or already revoked: the local database goes anyway
      }
    }
    await wipe(false);
    localStorage.removeItem(USER_KEY);
    const form = el("form", { method: "post", action: body.dataset.logout, hidden: true },
      el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf() }));
    document.body.append(form);
    form.submit();
  }

  // The local database's key for this user: the user id, or (an answer without one) a digest of who it is —
  // never a readable name in the database's name.
  async function keyOf(user) {
    if (user.id !== undefined && user.id !== null) return String(user.id);
    const text = new TextEncoder().encode(`${user.name || ""}\n${user.role || ""}`);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", text));
    return "h" + [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- the signed-in user and this phone's device ----------------------------------------------------------
  function signedInUser() {
    return todayData && !todayAt && todayData.user && todayData.user.id !== undefined ? todayData.user.id : undefined;
  }

  // Confirm the stored device with the server (or enrol one) before anything new is sealed to it.
  async function confirmDevice(user) {
    if (!outbox || !store || store.closed || !navigator.onLine) return null;
    try {
      const device = await outbox.ensureDevice(deviceLabel(), user === undefined ? signedInUser() : user, true);
      deviceConfirmed = true;
      body.dataset.ready = "device";
      return device;
    } catch (error) {
      if (error.status === 409 && error.code === "device_other_user") await otherUser();
      return null;
    }
  }

  // The user a today answer is for, against the database open on this page: another user's answer switches
  // to that user's own database; the previous user's records stay there, unsent and untouched, and their
  // copy of today goes. False when this page must not use the answer.
  async function adoptUser(data) {
    if (!data || !data.user) return true;
    const key = await keyOf(data.user);
    if (key === userKey && store && !store.closed) {
      const device = await store.get("device");
      if (device && device.user !== undefined && device.user !== null && String(device.user) !== String(data.user.id)) {
        await otherUser();
      }
      return true;
    }
    if (key === userKey) return true; // not opened yet (start)
    if (userKey) {
      const previous = store && !store.closed ? store : await Q.Store.open(userKey).catch(() => null);
      if (outbox && previous === store) outbox.stop();
      if (previous) {
        try {
          await previous.del("today");
          if ((await previous.items()).length) {
            $("m-otheruser").hidden = false;
            toast(OTHER_USER);
          }
        } catch (error) {
          console.warn("previous user's database", error);
        }
        previous.close();
      }
    }
    resetPatrolState();
    outbox = null;
    store = null;
    userKey = key;
    localStorage.setItem(USER_KEY, key);
    await openStore(key);
    await confirmDevice(data.user.id);
    return true;
  }

  // --- start -------------------------------------------------------------------------------------------------
  // The workspace needs a secure page (HTTPS): without it there is no crypto.subtle to seal records with.
  function unsupported() {
    if (!window.isSecureContext || !window.crypto || !window.crypto.subtle) {
      return "需要通过 HTTPS 打开移动警务工作台，当前连接不安全，无法保存记录";
    }
    if (!window.indexedDB) return "此浏览器不支持本机存储，请换用系统浏览器打开";
    return "";
  }

  async function start() {
    showConnection();
    const problem = unsupported();
    if (problem) {
      $("m-unsupported").textContent = problem;
      $("m-unsupported").hidden = false;
      $("today-loading").textContent = problem;
      body.dataset.ready = "unsupported";
      return;
    }
    if (!("serviceWorker" in navigator)) {
      $("m-unsupported").textContent = "此浏览器不支持离线打开工作台，请联网使用";
      $("m-unsupported").hidden = false;
    } else if (body.dataset.sw) {
      navigator.serviceWorker.register(body.dataset.sw, { scope: API.replace(/api\/$/, "") }).catch((error) => console.warn("service worker", error));
    }
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});

    let data = null;
    if (navigator.onLine) {
      try {
        data = await api("today");
      } catch (error) {
        data = null;
      }
    }
    userKey = localStorage.getItem(USER_KEY);
    if (data && data.user) {
      await adoptUser(data); // another user than the last one: their database, the previous one's today goes
      todayData = data;
      todayAt = null;
    }
    if (userKey) {
      if (!store) await openStore(userKey);
      if (data) {
        await store.set("today", { data, at: Date.now() });
      } else {
        const cached = await store.get("today");
        if (cached && Date.now() - cached.at < TODAY_MAX_AGE_MS) {
          todayData = cached.data;
          todayAt = new Date(cached.at);
        } else if (cached) {
          await store.del("today"); // older than a session may live: neither shown nor kept
        }
      }
      if (data && navigator.onLine && !deviceConfirmed) await confirmDevice(data.user ? data.user.id : undefined);
    }
    if (todayData) renderToday();
    else $("today-loading").textContent = navigator.onLine ? "无法加载今日工作，请稍后再试" : "离线，暂无本机数据";
    await syncPatrolWithToday();
    if (patrol && store) startTracking();
    await refreshQueue();
    body.dataset.ready = outbox && (await store.get("device")) ? "device" : "shell";
    if (outbox) outbox.flush();
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") pack();
    else if (navigator.onLine && body.dataset.ready) loadToday(true); // a dispatch missed while in the background
  });

  // Wire the page (deferred script: the DOM is parsed).
  for (const button of document.querySelectorAll(".m-tab")) button.addEventListener("click", () => showTab(button.dataset.tab));
  for (const button of document.querySelectorAll(".m-seg-btn")) button.addEventListener("click", () => showForm(button.dataset.form));
  $("form-visit").addEventListener("submit", once(submitVisit));
  $("form-patrol-start").addEventListener("submit", once(submitPatrolStart));
  $("form-finding").addEventListener("submit", once(submitFinding));
  $("form-patrol-finish").addEventListener("submit", once(submitFinish));
  for (const id of ["visit-at", "patrol-started"]) {
    for (const type of ["input", "change"]) $(id).addEventListener(type, () => { $(id).dataset.edited = "1"; });
  }
  $("visit-household").addEventListener("change", () => freshTime("visit-at"));
  $("patrol-community").addEventListener("change", fillPatrolChoices);
  $("finding-hand-over").addEventListener("change", (event) => {
    $("finding-parties").hidden = !(event.target.checked && $("finding-kind").value === "dispute");
  });
  $("finding-kind").addEventListener("change", () => {
    $("finding-parties").hidden = !($("finding-hand-over").checked && $("finding-kind").value === "dispute");
  });
  $("patrol-track").addEventListener("click", () => {
    if (watchId !== null) {
      stopTracking();
      pack();
      renderPatrol();
    } else startTracking();
  });
  $("queue-send").addEventListener("click", () => {
    if (!navigator.onLine) return toast("离线，联网后自动发送");
    if (outbox) outbox.wake(true).then(refreshQueue);
  });
  $("m-logout").addEventListener("click", logout);
  $("visit-at").value = localInput();
  $("patrol-started").value = localInput();
  for (const input of document.querySelectorAll(".m-file")) {
    input.addEventListener("change", () => {
      const label = document.querySelector(`label[for="${input.id}"] [data-photo-label]`);
      label.textContent = input.files && input.files.length ? "已选择照片，点此重拍" : label.dataset.empty;
    });
  }
  for (const form of document.querySelectorAll("#form-visit, #form-finding")) {
    form.addEventListener("reset", () => {
      for (const label of form.querySelectorAll("[data-photo-label]")) label.textContent = label.dataset.empty;
    });
  }

  window.DoorstepMobile = {
    api,
    enqueue,
    position,
    on,
    today: () => todayData,
    toast,
    showTab,
  };

  start().catch((error) => console.warn("workspace start failed", error));
})();
