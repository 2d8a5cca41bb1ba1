// Password strength meter: asks the server (zxcvbn) as the person types. Without this
// script the same meter is filled by the server after "Check strength" or a submit.
(function () {
  "use strict";
  var DELAY_MS = 300;

  function setup(meter) {
    var input = document.getElementById(meter.getAttribute("data-for"));
    var form = input && input.form;
    var tokenInput = form && form.querySelector('input[name="csrf_token"]');
    if (!input || !tokenInput || !window.fetch) {
      return;
    }
    var bar = meter.querySelector("meter");
    var label = meter.querySelector("[data-meter-label]");
    var message = meter.querySelector("[data-meter-message]");
    var tips = meter.querySelector("[data-meter-suggestions]");
    var inputNames = (meter.getAttribute("data-inputs") || "").split(" ").filter(Boolean);
    var timer = null;
    var latest = 0;

    function show(result) {
      bar.value = result.score;
      label.textContent = result.label;
      message.textContent = result.message || "";
      tips.textContent = "";
      if (!result.acceptable) {
        (result.suggestions || []).forEach(function (tip) {
          var item = document.createElement("li");
          item.textContent = tip;
          tips.appendChild(item);
        });
      }
      meter.hidden = false;
    }

    function ask() {
      var password = input.value;
      if (!password) {
        meter.hidden = true;
        return;
      }
      var inputs = inputNames
        .map(function (name) { return form.elements[name]; })
        .filter(function (el) { return el && typeof el.value === "string" && el.value; })
        .map(function (el) { return el.value; });
      var asked = ++latest;
      fetch(meter.getAttribute("data-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "Accept": "application/json",
          "X-CSRFToken": tokenInput.value
        },
        body: JSON.stringify({ password: password, inputs: inputs })
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (result) {
          if (result && asked === latest) {
            show(result);
          }
        })
        .catch(function () { /* the server still checks on submit */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DELAY_MS);
    });
  }

  function start() {
    var meters = document.querySelectorAll("[data-password-meter]");
    for (var i = 0; i < meters.length; i++) {
      if (!meters[i].hasAttribute("data-meter-ready")) {
        meters[i].setAttribute("data-meter-ready", "");
        setup(meters[i]);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
