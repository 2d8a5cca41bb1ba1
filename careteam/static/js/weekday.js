// Notification settings: the weekday is required only for weekly digests. Without this
// script the label says "(for weekly digests)"; with it, "(required)" once weekly is chosen.
(function () {
  "use strict";
  var need = document.getElementById("weekday-need");
  if (!need) return;
  var radios = document.querySelectorAll('input[name="frequency"]');
  function update() {
    var weekly = document.querySelector('input[name="frequency"][value="weekly"]:checked');
    need.textContent = weekly ? need.dataset.weekly : need.dataset.other;
  }
  for (var i = 0; i < radios.length; i++) radios[i].addEventListener("change", update);
  update();
})();
