// Registry forms: show only the block of fields that belongs to the chosen person category.
// Without JavaScript every block stays visible; the service clears the blocks of other categories.
(function () {
  "use strict";
  document.querySelectorAll("form[data-person-form]").forEach(function (form) {
    var select = form.querySelector("[data-category-select]");
    if (!select) return;
    function sync() {
      form.querySelectorAll(".category-block").forEach(function (block) {
        block.hidden = block.getAttribute("data-category") !== select.value;
      });
    }
    select.addEventListener("change", sync);
    sync();
  });
})();
