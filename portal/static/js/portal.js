// Small progressive enhancements; every page works without them (CSP forbids inline scripts).
document.addEventListener("DOMContentLoaded", function () {
  // Collectivity switcher: submit on change, hide the button.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    var form = select.form;
    var button = form.querySelector("button[type=submit]");
    if (button) { button.classList.add("sr-only"); }
    select.addEventListener("change", function () { form.submit(); });
  });
  // Confirmation before destructive actions.
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      if (!window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  });
});
