// Shows the "Print" button of a printable page and prints when pressed. Without this
// script the button stays hidden and the browser's own Print command does the same.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-print]");
  for (var i = 0; i < buttons.length; i += 1) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () {
      window.print();
    });
  }
})();
