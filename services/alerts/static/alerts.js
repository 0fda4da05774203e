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
      var text = (body.getAttribute("data-sms-prefix") + body.value.trim() + body.getAttribute("data-sms-suffix"))
        .replace(/[\u00a0\u202f]/g, " "); /* as the server sends it: GSM 03.38 has no no-break space */
      var r = count(text);
      var max = parseInt(body.getAttribute("data-max-segments"), 10);
      var label = (r.gsm ? "data-label-gsm" : "data-label-ucs") + (r.segments < 2 ? "-one" : "");
      var msg = fill(out.getAttribute(label), { chars: r.units.toLocaleString("fr-FR"), segments: r.segments,
        chars_list: r.nonGsm.join(" ") });
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
              cell.textContent = Number(c[cell.getAttribute("data-k")]).toLocaleString("fr-FR");
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

/* Zone map: the commune's outline, the located subscribers, and a polygon drawn by clicks. The polygon goes into the
   hidden "zone" field as GeoJSON (WGS84, [lon, lat]). */
document.addEventListener("portal:map", function (event) {
  "use strict";
  var el = event.target;
  var input = document.getElementById("zone");
  if (el.id !== "zone-map" || !input || !window.fetch) { return; }
  var L = window.L;
  var map = event.detail.map; /* built by portal/static/js/maps.js: base layer, attribution, scale */
  window.alertsZoneMap = map; /* for the browser tests */
  var vertices = [], polygon = null, markers = L.layerGroup(), points = [];
  var count = document.getElementById("zone-count");

  function inside(lat, lon, ring) {
    var c = false, i, j;
    for (i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var yi = ring[i][0], xi = ring[i][1], yj = ring[j][0], xj = ring[j][1];
      if (((yi > lat) !== (yj > lat)) && (lon < (xj - xi) * (lat - yi) / (yj - yi) + xi)) { c = !c; }
    }
    return c;
  }

  function redraw() {
    if (polygon) { map.removeLayer(polygon); polygon = null; }
    markers.clearLayers();
    vertices.forEach(function (v) { L.circleMarker(v, { radius: 4, color: "#c9191e" }).addTo(markers); });
    if (vertices.length >= 3) {
      polygon = L.polygon(vertices, { color: "#c9191e", weight: 2, fillOpacity: 0.15 }).addTo(map);
      var ring = vertices.map(function (v) { return [v.lng, v.lat]; });
      ring.push(ring[0]);
      input.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
      var latlngs = vertices.map(function (v) { return [v.lat, v.lng]; });
      var n = points.filter(function (p) { return inside(p.lat, p.lon, latlngs); }).length;
      if (count) {
        count.textContent = count.getAttribute(n < 2 ? "data-label-one" : "data-label").replace("{n}", n.toLocaleString("fr-FR"));
      }
    } else {
      input.value = "";
      if (count) { count.textContent = ""; }
    }
  }

  if (input.value) {
    try {
      JSON.parse(input.value).coordinates[0].slice(0, -1).forEach(function (p) { vertices.push(L.latLng(p[1], p[0])); });
    } catch (e) { vertices = []; }
  }

  fetch(event.detail.config.data.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      /* The view first, the layers after: vector layers need a map that has a view. */
      var outline = data.boundary ? L.geoJSON(data.boundary, { style: { color: "#000091", weight: 2, fillOpacity: 0.03 }, interactive: false }) : null;
      points = data.points || [];
      var bounds = outline ? outline.getBounds() : null;
      if (!bounds && points.length) { bounds = L.latLngBounds(points.map(function (p) { return [p.lat, p.lon]; })); }
      if (bounds) { map.fitBounds(bounds.pad(0.05)); } else { map.setView([48.3, 4.1], 10); }
      if (outline) { outline.addTo(map); }
      points.forEach(function (p) {
        L.circleMarker([p.lat, p.lon], { radius: 5, color: "#000091", fillOpacity: 0.8, interactive: false }).addTo(map);
      });
      markers.addTo(map);
      redraw();
    });

  map.on("click", function (e) { vertices.push(e.latlng); redraw(); });
  var clear = document.getElementById("zone-clear");
  if (clear) { clear.addEventListener("click", function () { vertices = []; redraw(); }); }
});
