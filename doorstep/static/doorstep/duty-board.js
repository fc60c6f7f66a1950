// The police-room board (警务室实时看板): besides its htmx poll, it reloads at once when a room alert is
// opened or cleared, told by the /ws/duty/ socket (duty.consumers.DutyConsumer). Reconnects with back-off;
// not reopened after 4401/4403 (signed out, no territory) — the poll then carries on alone.
(function () {
  "use strict";
  var board = document.getElementById("duty-board");
  if (!board || !window.WebSocket) return;
  var path = board.dataset.wsUrl || "/ws/duty/";
  var retry = 1000;
  var failures = 0;
  var pending = null;

  function refresh() {
    if (pending) return; // several alerts in a burst: one reload
    pending = setTimeout(function () {
      pending = null;
      if (window.htmx) window.htmx.trigger(board, "duty-alert");
    }, 300);
  }

  function connect() {
    var opened = false;
    var ws = new WebSocket((location.protocol === "https:" ? "wss" : "ws") + "://" + location.host + path);
    ws.onopen = function () {
      opened = true;
      failures = 0;
      retry = 1000;
      refresh(); // whatever changed while the socket was down
    };
    ws.onmessage = function (m) {
      var msg = JSON.parse(m.data);
      if (msg.type === "room_alert") refresh();
    };
    ws.onclose = function (e) {
      if (e.code === 4401 || e.code === 4403) return;
      if (!opened && ++failures >= 5) return; // no socket here: the poll alone keeps the board right
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }
  connect();
})();
