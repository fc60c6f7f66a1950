// Alarm device pages. The provisioning form shows the SIA DC-09 fields only for DC-09 devices (without
// JavaScript every field stays visible and the service ignores them for HTTP/MQTT). The device-health page
// reloads its counts and table from the server when a device alert is raised or cleared (the /ws/alarms/
// socket's "device_alert" messages) and once a minute, so that ages and overdue heartbeats stay current.
(function () {
  "use strict";

  document.querySelectorAll("form[data-device-form]").forEach(function (form) {
    var protocol = form.querySelector("select[name=protocol]");
    if (!protocol) return;
    var dc09Only = ["sia_account", "with_aes_key"].map(function (name) {
      var input = form.querySelector("[name=" + name + "]");
      return input && input.closest(".mb-3");
    }).filter(Boolean);
    function sync() {
      dc09Only.forEach(function (block) { block.hidden = protocol.value !== "dc09"; });
    }
    protocol.addEventListener("change", sync);
    sync();
  });

  var health = document.getElementById("health");
  if (!health) return;
  var link = document.getElementById("health-link");
  var d = health.dataset;
  var timer = null;

  function busy() {
    // Never replace the table under someone typing a note to clear an alert.
    var active = document.activeElement;
    if (active && health.contains(active) && active.tagName === "INPUT") return true;
    return Array.prototype.some.call(health.querySelectorAll("input[name=note]"), function (i) { return i.value; });
  }

  async function refresh() {
    timer = null;
    if (busy()) { schedule(5000); return; }
    try {
      var response = await fetch(d.partialUrl, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.redirected || response.status === 404) {
        window.location.reload(); // the login ended (sent to the login page) or the page is gone
      } else if (response.status === 200) {
        health.innerHTML = await response.text();
        health.dataset.refreshed = String(Date.now());
      } else {
        schedule(5000);
      }
    } catch (err) { schedule(5000); }
  }

  function schedule(delay) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  }

  setInterval(function () { schedule(0); }, 60000);

  var retry = 1000;
  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss" : "ws") + "://" + location.host + "/ws/alarms/");
    ws.onopen = function () {
      retry = 1000;
      link.textContent = d.labelOnline;
      link.className = "badge bg-green-lt";
      health.dataset.live = "1";
      schedule(0); // whatever changed while the socket was down
    };
    ws.onmessage = function (m) {
      var msg = JSON.parse(m.data);
      if (msg.type === "device_alert") schedule(300); // several alerts in a burst: one reload
    };
    ws.onclose = function (e) {
      health.dataset.live = "";
      link.textContent = d.labelOffline;
      link.className = "badge bg-red-lt";
      if (e.code === 4401) { window.location.reload(); return; }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }
  connect();
})();
