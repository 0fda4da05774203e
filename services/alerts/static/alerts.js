/* Citizen alerts: live SMS segment counter on the compose page, live follow-up of an alert's deliveries. */
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXT = "^{}\\[~]|€\f";

  function count(text) {
    var nonGsm = [], units = 0, i, c;
    for (i = 0; i < text.length; i++) {
      c = text.charAt(i);
      if (BASIC.indexOf(c) < 0 && EXT.indexOf(c) < 0 && nonGsm.indexOf(c) < 0) { nonGsm.push(c); }
    }
    var gsm = nonGsm.length === 0;
    if (gsm) {
      for (i = 0; i < text.length; i++) { units += EXT.indexOf(text.charAt(i)) >= 0 ? 2 : 1; }
    } else {
      units = text.length; /* JS strings are UTF-16 code units, as UCS-2 counts them */
    }
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    var segments = units === 0 ? 0 : (units <= single ? 1 : Math.ceil(units / multi));
    return { gsm: gsm, units: units, segments: segments, nonGsm: nonGsm };
  }

  function fill(label, values) {
    return label.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  var body = document.querySelector("textarea[data-sms-prefix]");
  var out = document.getElementById("sms-counter");
  if (body && out) {
    var update = function () {
      var text = body.getAttribute("data-sms-prefix") + body.value.trim() + body.getAttribute("data-sms-suffix");
      var r = count(text);
      var max = parseInt(body.getAttribute("data-max-segments"), 10);
      var msg = fill(out.getAttribute(r.gsm ? "data-label-gsm" : "data-label-ucs"),
        { chars: r.units, segments: r.segments, chars_list: r.nonGsm.join(" ") });
      if (r.segments > max) { msg += " " + fill(out.getAttribute("data-label-over"), { max: max }); }
      out.textContent = msg;
      out.classList.toggle("error-text", r.segments > max);
    };
    body.addEventListener("input", update);
    update();
  }

  var panel = document.getElementById("follow-up");
  if (panel && window.fetch) {
    var url = panel.getAttribute("data-stats-url");
    var refresh = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var busy = false;
          Object.keys(data.channels).forEach(function (ch) {
            var row = panel.querySelector('tr[data-channel="' + ch + '"]');
            if (!row) { return; }
            var c = data.channels[ch];
            if (c.pending > 0 || c.sent > 0) { busy = true; }
            row.querySelectorAll("[data-k]").forEach(function (cell) {
              cell.textContent = c[cell.getAttribute("data-k")];
            });
          });
          if (busy || data.status === "scheduled") { window.setTimeout(refresh, 3000); }
        });
    };
    window.setTimeout(refresh, 1500);
  }
}());

/* Individual message: choosing a model prefills its legal basis (the user may change it). */
(function () {
  "use strict";
  var select = document.getElementById("template");
  var basis = document.getElementById("legal_basis");
  var list = document.getElementById("model-bases");
  if (!select || !basis || !list) { return; }
  select.addEventListener("change", function () {
    var item = list.querySelector('[data-model="' + select.value + '"]');
    if (item) { basis.value = item.textContent; }
  });
}());
