// The survey questionnaire (portal/survey_form.html): "获取验证码" asks for a one-time code with fetch() and
// shows the answer next to the button, then counts down before it may be pressed again. Without this script
// the button submits the whole form with `send_code` and the page comes back with the answers kept.
(function () {
  "use strict";
  var form = document.querySelector("[data-survey-form]");
  if (!form) { return; }
  var button = form.querySelector("[data-survey-code]");
  var status = form.querySelector("[data-survey-code-status]");
  if (!button || !status || !window.fetch || !window.FormData) { return; }
  var label = button.textContent;
  var WAIT = 60;
  // Texts come translated from the template (data attributes), never hard-coded here.
  var SECONDS = form.dataset.secondsLabel || "s";
  var NETWORK = form.dataset.networkError || "";

  function show(text, ok) {
    status.textContent = text || "";
    status.classList.toggle("text-danger", !ok);
    status.classList.toggle("text-secondary", ok);
  }

  function countdown(seconds) {
    button.disabled = true;
    button.textContent = seconds + " " + SECONDS;
    var timer = setInterval(function () {
      seconds -= 1;
      if (seconds <= 0) {
        clearInterval(timer);
        button.disabled = false;
        button.textContent = label;
      } else {
        button.textContent = seconds + " " + SECONDS;
      }
    }, 1000);
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    var phone = form.querySelector("[name=phone]");
    var csrf = form.querySelector("[name=csrfmiddlewaretoken]");
    var body = new FormData();
    body.append("phone", phone ? phone.value : "");
    button.disabled = true;
    fetch(form.dataset.codeUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf ? csrf.value : "", "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, detail: NETWORK }; });
    }).then(function (data) {
      show(data.detail, data.ok);
      if (data.ok) {
        countdown(WAIT);
        var code = form.querySelector("[name=code]");
        if (code) { code.focus(); }
      } else {
        button.disabled = false;
      }
    }).catch(function () {
      show(NETWORK, false);
      button.disabled = false;
    });
  });
})();
