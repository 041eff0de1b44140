// The case list's batch dispatch: "select all" ticks every case of the page that can be dispatched, and the
// bar says how many are ticked. Text is set with textContent only. Listens on the document and looks the
// boxes up when they change, so that rows brought in later by live.js count too.
(function () {
  "use strict";
  var form = document.getElementById("batch");
  if (!form) return;
  var BOX = 'input[name="numbers"][form="batch"]';
  var boxes = function () {
    return Array.prototype.slice.call(document.querySelectorAll(BOX));
  };
  var count = document.getElementById("batch-count");
  var button = form.querySelector("button[type=submit]");
  var template = count ? count.getAttribute("data-selected") : null;
  var hint = count ? count.textContent : "";
  function update() {
    var all = document.querySelector(".case-table .select-all");
    var ticked = boxes().filter(function (b) { return b.checked; }).length;
    if (button) button.disabled = ticked === 0;
    if (count && template) count.textContent = ticked ? template.replace("{n}", String(ticked)) : hint;
    if (all) {
      var total = boxes().length;
      all.disabled = total === 0;
      all.checked = total > 0 && ticked === total;
      all.indeterminate = ticked > 0 && ticked < total;
    }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || !target.matches) return;
    if (target.matches(".case-table .select-all")) {
      boxes().forEach(function (b) { b.checked = target.checked; });
      update();
    } else if (target.matches(BOX)) {
      update();
    }
  });
  update();
})();
