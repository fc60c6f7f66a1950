// Portal forms (我要办事): the booking's "获取验证码" button and the anonymous switch of a tip. No inline
// script (the portal's CSP): behaviours find their elements by data attribute or field name.
(function () {
  "use strict";

  // One-time code for a booking: POST the phone with the form's CSRF token, show the answer, then wait 60 s.
  document.querySelectorAll("[data-send-code]").forEach(function (button) {
    var form = button.closest("form");
    var status = form.querySelector("[data-code-status]");
    var label = button.textContent;
    button.addEventListener("click", function () {
      var phone = form.querySelector("[name=phone]");
      var token = form.querySelector("[name=csrfmiddlewaretoken]");
      var body = new URLSearchParams();
      body.append("phone", phone ? phone.value : "");
      button.disabled = true;
      fetch(button.dataset.sendCode, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "", "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString()
      }).then(function (response) {
        return response.json();
      }).then(function (data) {
        status.textContent = data.detail || "";
        status.className = "small mt-1 " + (data.ok ? "text-success" : "text-danger");
        if (!data.ok) { button.disabled = false; return; }
        var left = 60;
        var timer = setInterval(function () {
          left -= 1;
          button.textContent = left + "s";
          if (left <= 0) { clearInterval(timer); button.textContent = label; button.disabled = false; }
        }, 1000);
      }).catch(function () {
        status.textContent = button.dataset.networkError || "网络异常，请稍后再试";
        status.className = "small mt-1 text-danger";
        button.disabled = false;
      });
    });
  });

  // A tip's anonymous switch hides the name and phone fields (the server ignores them anyway).
  var anonymous = document.querySelector("input[name=anonymous]");
  if (anonymous) {
    var contact = ["name", "phone"].map(function (name) {
      var input = document.querySelector("[name=" + name + "]");
      return input ? input.closest(".mb-3") : null;
    });
    var sync = function () {
      contact.forEach(function (block) { if (block) { block.hidden = anonymous.checked; } });
    };
    anonymous.addEventListener("change", sync);
    sync();
  }
})();
