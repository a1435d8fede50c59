/* The console's one script: the print button of a printable page. Bound here, not in an
   onclick attribute, because the Content-Security-Policy allows no inline script. Every page
   works without it (the browser's own print menu does the same). */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function () { window.print(); });
  }
});
