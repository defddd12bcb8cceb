/* CWI site: a disclosure-button navigation menu (opens on Enter, Space or click; Escape closes).
   Without JavaScript the menu links are simply shown. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  function close(button) {
    button.setAttribute("aria-expanded", "false");
  }
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = Array.prototype.slice.call(document.querySelectorAll(".menu-button"));
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") === "true";
        buttons.forEach(close);
        button.setAttribute("aria-expanded", open ? "false" : "true");
      });
      var item = button.parentElement;
      item.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
          close(button);
          button.focus();
        }
      });
      item.addEventListener("focusout", function (event) {
        if (!item.contains(event.relatedTarget)) { close(button); }
      });
    });
    document.addEventListener("click", function (event) {
      buttons.forEach(function (button) {
        if (!button.parentElement.contains(event.target)) { close(button); }
      });
    });
  });
})();
