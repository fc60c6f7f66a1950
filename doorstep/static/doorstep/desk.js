// Service-desk intake form: show only the documents the chosen business type needs, and its time limit.
(function () {
  "use strict";
  var select = document.getElementById("id_business_type");
  var docsNode = document.getElementById("desk-type-docs");
  if (!select || !docsNode) return;
  var docs = JSON.parse(docsNode.textContent);
  var limits = JSON.parse(document.getElementById("desk-type-limits").textContent);
  var limit = document.getElementById("desk-limit");
  function update() {
    var wanted = docs[select.value] || [];
    document.querySelectorAll("[data-doc]").forEach(function (label) {
      var needed = wanted.indexOf(label.getAttribute("data-doc")) !== -1;
      label.hidden = !needed;
      if (!needed) label.querySelector("input").checked = false;
    });
    if (limit) limit.textContent = limits[select.value] ? "（办理时限：" + limits[select.value] + "）" : "";
  }
  select.addEventListener("change", update);
  update();
})();
