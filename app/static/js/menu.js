/* Small screens: the main menu folds behind one "Menu" button. Without this file the button stays
   hidden and the menu stays open, so every page keeps working without JavaScript. */
(function () {
  "use strict";
  var button = document.querySelector(".menu-toggle");
  var panel = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!panel) { return; }

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    panel.classList.toggle("is-open", open);
  }

  document.documentElement.classList.add("menu-folds");
  button.hidden = false;
  setOpen(false);

  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });

  // Escape closes an open menu and gives the focus back to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      button.focus();
    }
  });
})();
