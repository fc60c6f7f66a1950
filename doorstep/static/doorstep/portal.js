// The public portal's small behaviours (no inline scripts: the portal's CSP forbids them). Each behaviour
// looks for its elements by data attribute and does nothing on pages without them.
(function () {
  "use strict";
  // Buttons that must not be pressed twice (a slow network on a phone).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    setTimeout(function () { delete form.dataset.submitted; }, 8000);
  });
})();
