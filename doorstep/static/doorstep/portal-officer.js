// Find my officer (找民警): the address typeahead. The typed address goes in a POST body (never a URL, so
// no access log holds it) with the form's CSRF token; the answer is JSON [{label, url}] of buildings.
// Without this script the form still posts and the server shows the results as a list.
(function () {
  "use strict";
  var form = document.querySelector("[data-officer-lookup]");
  if (!form || !window.fetch) { return; }
  var input = form.querySelector("[data-officer-input]");
  var list = form.querySelector("[data-officer-suggestions]");
  var message = form.querySelector("[data-officer-message]");
  var tokenInput = form.querySelector("input[name=csrfmiddlewaretoken]");
  var url = form.dataset.suggestUrl;
  var timer = null;
  var seq = 0;
  var active = -1;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return tokenInput ? tokenInput.value : (match ? decodeURIComponent(match[1]) : "");
  }

  function items() { return list.querySelectorAll("a"); }

  function hide() {
    list.classList.add("d-none");
    list.textContent = "";
    input.setAttribute("aria-expanded", "false");
    active = -1;
  }

  function say(text) {
    message.textContent = text || "";
    message.classList.toggle("d-none", !text);
  }

  function show(hits) {
    list.textContent = "";
    active = -1;
    hits.forEach(function (hit, index) {
      var link = document.createElement("a");
      link.className = "list-group-item list-group-item-action";
      link.href = hit.url;
      link.id = "officer-suggestion-" + index;
      link.setAttribute("role", "option");
      link.textContent = hit.label;
      list.appendChild(link);
    });
    var any = hits.length > 0;
    list.classList.toggle("d-none", !any);
    input.setAttribute("aria-expanded", any ? "true" : "false");
  }

  function ask() {
    var q = input.value.trim();
    if (q.length < 2) { hide(); say(""); return; }
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set("q", q);
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      if (mine !== seq) { return; }
      if (result.status !== 200) { hide(); say(result.data && result.data.error); return; }
      say(result.data.length ? "" : form.dataset.noneText || "");
      show(result.data);
    }).catch(function () { if (mine === seq) { hide(); } });
  }

  function move(step) {
    var links = items();
    if (!links.length) { return; }
    if (active >= 0) { links[active].classList.remove("active"); }
    active = (active + step + links.length) % links.length;
    links[active].classList.add("active");
    input.setAttribute("aria-activedescendant", links[active].id);
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 250);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { event.preventDefault(); move(1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); move(-1); }
    else if (event.key === "Escape") { hide(); }
    else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      window.location.href = items()[active].href;
    }
  });
  document.addEventListener("click", function (event) {
    if (!form.contains(event.target)) { hide(); }
  });
})();
