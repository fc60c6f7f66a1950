// The workspace's lookup tab (#tab-lookup): find a house or a person within the officer's grids. The query is
// POSTed to /m/api/lookup (a name or an ID number never goes into a URL); the server masks what the role may
// not see and audits the lookup. A house card offers 走访 (the record tab opens the visit form through the
// "doorstep:visit" event), a person card 拨打电话 when the person has a phone this role may call: the number is
// revealed (audited) only at that moment and handed to the dialler, never kept. Reads are not queued: offline
// the box just says so.
(function () {
  "use strict";

  const L = {
    placeholder: "姓名、身份证后几位、电话或地址",
    search: "查询",
    searching: "查询中…",
    offline: "离线时无法查询",
    too_short: "请输入至少2个字",
    none: "在您的网格内没有找到匹配的房屋或人员",
    houses: "房屋",
    persons: "人员",
    visit: "走访",
    call: "拨打电话",
    calling: "正在获取号码…",
    id_number: "身份证",
    phone: "电话",
    address: "住址",
    household: "户",
    error: "查询失败",
    colour: { red: "红色·重点户", yellow: "黄色·关注户", green: "绿色·放心户" },
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function setup() {
    const root = document.getElementById("tab-lookup");
    const M = window.DoorstepMobile;
    if (!root || !M) return;
    Object.assign(L, readLabels());

    const form = el("form", "lookup-form");
    form.setAttribute("role", "search");
    form.dataset.testid = "lookup-form";
    const input = el("input", "form-control lookup-input");
    input.type = "search";
    input.name = "q";
    input.autocomplete = "off";
    input.maxLength = 100;
    input.placeholder = L.placeholder;
    input.setAttribute("aria-label", L.placeholder);
    input.dataset.testid = "lookup-q";
    const go = el("button", "btn btn-primary lookup-go", L.search);
    go.type = "submit";
    go.dataset.testid = "lookup-go";
    form.append(input, go);
    const status = el("div", "lookup-status");
    status.setAttribute("aria-live", "polite");
    status.dataset.testid = "lookup-status";
    const results = el("div", "lookup-results");
    results.dataset.testid = "lookup-results";
    root.append(form, status, results);

    let seq = 0;

    function say(text, cls) {
      status.className = "lookup-status" + (cls ? " " + cls : "");
      status.textContent = text || "";
    }

    function offlineState() {
      const offline = navigator.onLine === false;
      root.classList.toggle("is-offline", offline);
      input.disabled = go.disabled = offline;
      if (offline) say(L.offline, "text-warning");
      else if (status.textContent === L.offline) say("");
      return offline;
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (offlineState()) return;
      const q = input.value.trim();
      if (q.length < 2) {
        say(L.too_short, "text-secondary");
        return;
      }
      const mine = ++seq;
      go.disabled = true;
      say(L.searching, "text-secondary");
      try {
        const data = await M.api("/m/api/lookup", { method: "POST", body: { q } });
        if (mine !== seq) return;
        show(data || {});
      } catch (err) {
        if (mine !== seq) return;
        results.replaceChildren();
        if (!offlineState()) say(err.detail || err.message || L.error, err.status ? "text-danger" : "text-warning");
      } finally {
        if (mine === seq) go.disabled = navigator.onLine === false;
      }
    });

    function show(data) {
      const houses = data.houses || [];
      const persons = data.persons || [];
      results.replaceChildren();
      if (!houses.length && !persons.length) {
        say(data.detail || L.none, "text-secondary");
        return;
      }
      say(data.detail || "");
      if (houses.length) {
        results.append(el("h3", "lookup-heading", `${L.houses}（${houses.length}）`));
        for (const h of houses) results.append(houseCard(h));
      }
      if (persons.length) {
        results.append(el("h3", "lookup-heading", `${L.persons}（${persons.length}）`));
        for (const p of persons) results.append(personCard(p));
      }
    }

    function colourDot(colour, label) {
      const dot = el("span", `colour-dot colour-${colour || "none"}`);
      dot.title = label || L.colour[colour] || "";
      dot.setAttribute("aria-label", dot.title);
      dot.dataset.colour = colour || "";
      return dot;
    }

    function households(h) {
      if (Array.isArray(h.households)) return h.households.map((x) => (typeof x === "object" ? x : { id: x }));
      if (h.household) return [typeof h.household === "object" ? h.household : { id: h.household, label: h.household_label }];
      return [];
    }

    function visitButton(household, label) {
      const b = el("button", "btn btn-outline-primary part-btn", L.visit);
      b.type = "button";
      b.dataset.testid = "lookup-visit";
      b.addEventListener("click", () => {
        document.dispatchEvent(new CustomEvent("doorstep:visit", { detail: { household, label } }));
      });
      return b;
    }

    function houseCard(h) {
      const card = el("div", "card lookup-card");
      card.dataset.testid = "lookup-house";
      card.dataset.house = h.id;
      const body = el("div", "card-body");
      const title = el("div", "lookup-title");
      title.append(colourDot(h.colour, h.colour_label), el("span", "", h.address || h.label || ""));
      body.append(title);
      if (h.detail) body.append(el("div", "lookup-line text-secondary", h.detail));
      if (h.colour_label || L.colour[h.colour]) body.append(el("div", "lookup-line", h.colour_label || L.colour[h.colour]));
      const actions = el("div", "lookup-actions");
      const list = households(h);
      for (const x of list) {
        const label = x.label || h.address || "";
        const b = visitButton(x.id, label);
        if (list.length > 1 && x.label) b.textContent = `${L.visit} · ${x.label}`;
        actions.append(b);
      }
      if (actions.childNodes.length) body.append(actions);
      card.append(body);
      return card;
    }

    function line(label, value) {
      const div = el("div", "lookup-line");
      div.append(el("span", "text-secondary", `${label}：`), el("span", "", value || "—"));
      return div;
    }

    function personCard(p) {
      const card = el("div", "card lookup-card");
      card.dataset.testid = "lookup-person";
      card.dataset.person = p.id;
      const body = el("div", "card-body");
      const title = el("div", "lookup-title");
      if (p.colour) title.append(colourDot(p.colour, p.colour_label));
      title.append(el("span", "", p.name || ""));
      if (p.tag || p.relation) title.append(el("span", "badge bg-secondary-lt ms-1", p.tag || p.relation));
      body.append(title);
      if (p.id_number) body.append(line(L.id_number, p.id_number));
      if (p.phone) body.append(line(L.phone, p.phone));
      if (p.address) body.append(line(L.address, p.address));
      const actions = el("div", "lookup-actions");
      const may = p.can_call ?? p.may_call ?? p.callable ?? false;
      if (may && (p.has_phone ?? !!p.phone)) {
        const call = el("button", "btn btn-success part-btn", L.call);
        call.type = "button";
        call.dataset.testid = "lookup-call";
        call.addEventListener("click", () => dial(p, call));
        actions.append(call);
      }
      if (p.household) {
        const hh = typeof p.household === "object" ? p.household : { id: p.household, label: p.household_label };
        actions.append(visitButton(hh.id, hh.label || p.address || ""));
      }
      if (actions.childNodes.length) body.append(actions);
      card.append(body);
      return card;
    }

    async function dial(p, button) {
      if (offlineState()) return;
      button.disabled = true;
      const text = button.textContent;
      button.textContent = L.calling;
      try {
        const data = await M.api(`/m/api/persons/${encodeURIComponent(p.id)}/phone`, { method: "POST", body: {} });
        // The revealed number goes straight to the dialler; nothing keeps it.
        if (data && data.phone) window.location.href = "tel:" + String(data.phone).replace(/[^0-9+]/g, "");
      } catch (err) {
        say(err.detail || err.message || L.error, "text-danger");
      } finally {
        button.disabled = false;
        button.textContent = text;
      }
    }

    window.addEventListener("online", offlineState);
    window.addEventListener("offline", offlineState);
    if (M.on) {
      M.on("online", offlineState);
      M.on("offline", offlineState);
      M.on("tab", (name) => {
        if (name === "lookup" && !offlineState()) input.focus({ preventScroll: true });
      });
    }
    offlineState();
  }

  // The shell may carry translated labels: <script type="application/json" id="lookup-labels">.
  function readLabels() {
    const node = document.getElementById("lookup-labels");
    if (!node) return {};
    try { return JSON.parse(node.textContent); } catch (err) { return {}; }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
