// Registration form: show the polling station the street table proposes as soon as the address is typed.
(function () {
  "use strict";
  var form = document.querySelector("form[data-propose-url]");
  if (!form) { return; }
  var out = document.getElementById("proposed-bureau");
  var fields = ["street_type", "street_name", "lieu_dit"].map(function (id) { return document.getElementById(id); });
  var timer = null;
  function ask() {
    var params = new URLSearchParams({
      type: fields[0].value, voie: fields[1].value, lieudit: fields[2].value
    });
    fetch(form.getAttribute("data-propose-url") + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        out.textContent = data.bureau ? out.getAttribute("data-label") + " " + data.bureau.label
                                      : out.getAttribute("data-none");
      });
  }
  fields.forEach(function (f) {
    if (f) { f.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 300); }); }
  });
}());

// Bureau page: a click on the map (iframe, same origin) fills the latitude and longitude of the edit form.
(function () {
  "use strict";
  var form = document.querySelector("form[data-location-form]");
  if (!form) { return; }
  var lat = form.querySelector("input[name$='latitude']"), lon = form.querySelector("input[name$='longitude']");
  window.addEventListener("message", function (e) {
    if (e.origin !== window.location.origin || !e.data || e.data.type !== "electoral-location") { return; }
    lat.value = e.data.lat.toFixed(6);
    lon.value = e.data.lon.toFixed(6);
    lat.dispatchEvent(new Event("change", {bubbles: true}));
  });
}());
