// Land registry: a click on the map (iframe, same origin) fills the side panel; search suggestions.
(function () {
  "use strict";
  var panel = document.getElementById("cadastre-panel");
  if (panel) {
    window.addEventListener("message", function (e) {
      if (e.origin !== window.location.origin || !e.data || e.data.type !== "cadastre-parcel") { return; }
      var id = String(e.data.id || "");
      if (!/^[0-9A-Z]{14}$/.test(id)) { return; }
      fetch(panel.dataset.panelUrl.replace("IDU", id), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          panel.innerHTML = html;
          var url = new URL(window.location.href);
          url.searchParams.set("parcelle", id);
          window.history.replaceState(null, "", url.toString());
        })
        .catch(function () { /* a parcel outside the territory or gone: keep the panel as it is */ });
    });
  }
  var input = document.getElementById("cadastre-q");
  var list = document.getElementById("cadastre-suggestions");
  if (input && list && input.dataset.suggestUrl) {
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { return; }
      timer = setTimeout(function () {
        fetch(input.dataset.suggestUrl + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) {
            list.textContent = "";
            items.forEach(function (it) {
              var opt = document.createElement("option");
              opt.value = it.id;
              opt.label = it.label;
              list.appendChild(opt);
            });
          });
      }, 250);
    });
  }
})();
