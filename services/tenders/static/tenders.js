/* Tenders service: autosave of wizard steps, CPV search, weights total, deadline countdowns. No inline scripts (CSP). */
(function () {
  "use strict";

  // Autosave: every change of a wizard form is posted in the background (the server keeps what it can read).
  document.querySelectorAll("form[data-autosave]").forEach(function (form) {
    var status = form.querySelector(".autosave-status");
    var timer = null;
    function save() {
      var data = new FormData(form);
      data.set("action", "autosave");
      fetch(form.dataset.autosave, {method: "POST", body: data, credentials: "same-origin",
                                    headers: {"X-Autosave": "1"}})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (j) { if (status) { status.textContent = status.dataset.saved + " " + j.at; } })
        .catch(function () { if (status) { status.textContent = status.dataset.failed; } });
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 1500); });
    form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(save, 300); });
  });

  // CPV picker: refresh the datalist from the server as the person types.
  var cpv = document.querySelector("input[data-cpv-url]");
  if (cpv) {
    var list = document.getElementById(cpv.getAttribute("list"));
    cpv.addEventListener("input", function () {
      if (/^[0-9]{8}-?[0-9]?$/.test(cpv.value.trim())) { return; }
      fetch(cpv.dataset.cpvUrl + "?q=" + encodeURIComponent(cpv.value), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (items) {
          list.innerHTML = "";
          items.forEach(function (c) {
            var o = document.createElement("option");
            o.value = c.code; o.textContent = c.code + " — " + c.label; list.appendChild(o);
          });
        });
    });
  }

  // Total of the criteria weights, shown live.
  var total = document.querySelector(".weights-total");
  if (total) {
    var inputs = document.querySelectorAll("input[data-weight]");
    var update = function () {
      var sum = 0;
      inputs.forEach(function (i) { sum += parseInt(i.value || "0", 10) || 0; });
      total.textContent = total.dataset.label + " " + sum + " %";
      total.classList.toggle("bad", sum !== 100);
    };
    inputs.forEach(function (i) { i.addEventListener("input", update); });
    update();
  }

  // Countdown to each deadline.
  var countdowns = document.querySelectorAll(".countdown[data-deadline]");
  function tick() {
    var now = new Date();
    countdowns.forEach(function (el) {
      var ms = new Date(el.dataset.deadline) - now;
      if (ms <= 0) { el.textContent = "(" + el.dataset.closed + ")"; return; }
      var d = Math.floor(ms / 86400000), h = Math.floor((ms % 86400000) / 3600000);
      el.textContent = "(" + d + " " + el.dataset.days + " " + h + " " + el.dataset.hours + ")";
    });
  }
  if (countdowns.length) { tick(); setInterval(tick, 60000); }
})();
