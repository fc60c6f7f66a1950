// The phone page of police-room duty: 签到 / 签退 read the position (navigator.geolocation) and post it with the
// accuracy; the server decides whether it is inside the room's geofence and answers {"detail": …}.
(function () {
  const root = document.getElementById("clock");
  if (!root) return;
  const d = root.dataset;
  const result = document.getElementById("clock-result");
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;

  function show(text, ok) {
    result.className = "mt-3 alert " + (ok ? "alert-success" : "alert-danger");
    result.textContent = text;
  }

  function post(url, fields) {
    const body = new FormData();
    Object.entries(fields).forEach(([k, v]) => { if (v !== null && v !== undefined) body.append(k, v); });
    return fetch(url, { method: "POST", body, headers: { "X-CSRFToken": csrf, Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => r.json().then((data) => ({ ok: r.ok, data })))
      .then(({ ok, data }) => {
        show(data.detail || d.failed, ok);
        if (ok) setTimeout(() => window.location.reload(), 1200);
      })
      .catch(() => show(d.failed, false));
  }

  function locate(then, optional) {
    result.className = "mt-3 text-secondary";
    result.textContent = d.locating;
    if (!navigator.geolocation) {
      if (optional) then(null); else show(d.noFix, false);
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => then(pos.coords),
      () => { if (optional) then(null); else show(d.noFix, false); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 }
    );
  }

  root.addEventListener("click", (ev) => {
    const button = ev.target.closest("[data-action]");
    if (!button) return;
    button.disabled = true;
    setTimeout(() => { button.disabled = false; }, 3000);
    if (button.dataset.action === "in") {
      const room = document.getElementById("clock-room").value;
      locate((c) => post(d.inUrl, { room, lng: c.longitude, lat: c.latitude, accuracy: c.accuracy }), false);
    } else {
      locate((c) => post(d.outUrl, c ? { lng: c.longitude, lat: c.latitude, accuracy: c.accuracy } : {}), true);
    }
  });
})();
