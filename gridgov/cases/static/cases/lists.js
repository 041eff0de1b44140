// The case list's batch dispatch: "select all" ticks every case of the page that can be dispatched, and the
// bar says how many are ticked. Text is set with textContent only.
(function () {
  "use strict";
  var form = document.getElementById("batch");
  if (!form) return;
  var boxes = function () {
    return Array.prototype.slice.call(document.querySelectorAll('input[name="numbers"][form="batch"]'));
  };
  var all = document.querySelector(".case-table .select-all");
  var count = document.getElementById("batch-count");
  var button = form.querySelector("button[type=submit]");
  var template = count ? count.getAttribute("data-selected") : null;
  var hint = count ? count.textContent : "";
  function update() {
    var ticked = boxes().filter(function (b) { return b.checked; }).length;
    if (button) button.disabled = ticked === 0;
    if (count && template) count.textContent = ticked ? template.replace("{n}", String(ticked)) : hint;
    if (all) {
      var total = boxes().length;
      all.checked = total > 0 && ticked === total;
      all.indeterminate = ticked > 0 && ticked < total;
    }
  }
  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      update();
    });
  }
  boxes().forEach(function (b) { b.addEventListener("change", update); });
  update();
})();
