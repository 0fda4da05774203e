// Small progressive enhancements; every page works without them (CSP forbids inline scripts).
document.addEventListener("DOMContentLoaded", function () {
  // Collectivity switcher: a choice made with the mouse (or a touch) submits at once. A choice made with the
  // keyboard does not — arrow keys change a closed select's value one step at a time, and jumping to another
  // mairie at the first key press would make the third one unreachable — the visible "Switch" button submits it.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    var form = select.form;
    var byKeyboard = false;
    select.addEventListener("keydown", function () { byKeyboard = true; });
    select.addEventListener("pointerdown", function () { byKeyboard = false; });
    select.addEventListener("change", function () {
      if (!byKeyboard) { form.submit(); }
    });
  });
  // A wide table scrolls in its frame: the frame takes the keyboard focus (arrow keys scroll it) and is named after
  // the table's caption, as WCAG asks of scrollable regions.
  document.querySelectorAll(".table-wrap").forEach(function (wrap) {
    if (wrap.hasAttribute("tabindex")) { return; }
    var caption = wrap.querySelector("caption");
    var label = (caption && caption.textContent.trim()) || wrap.getAttribute("data-label");
    wrap.setAttribute("tabindex", "0");
    if (label) { wrap.setAttribute("role", "region"); wrap.setAttribute("aria-label", label); }
  });
  // Confirmation before destructive actions.
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      if (!window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  });
});
