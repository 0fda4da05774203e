/* The cemetery plan (services/cemetery): waits for the portal's map ("portal:map", portal/static/js/maps.js), then
   draws the cadastral parcels under the plan (when configured), the plan itself from one GeoJSON (zones and allées as
   outlines, emplacements coloured by state on a canvas, a click opens a popup with a link to the sheet), and, for
   the people who may write, Leaflet.draw's polygon tool: the shape drawn fills the hidden "geometry" fields of the
   page's forms. */
(function () {
  "use strict";

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) { el.className = cls; }
    return el;
  }

  document.addEventListener("portal:map", function (e) {
    if (e.target.id !== "plan-map") { return; }
    var L = window.L, map = e.detail.map, data = e.detail.config.data || {}, labels = data.labels || {};
    if (data.cadastre) {
      L.tileLayer(data.cadastre, { maxZoom: 22, maxNativeZoom: 19, opacity: 0.7 }).addTo(map);
    }
    var canvas = L.canvas({ padding: 0.2 });
    fetch(data.url, { credentials: "same-origin", headers: { "Accept": "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (fc) {
        var focus = null;
        var layer = L.geoJSON(fc, {
          renderer: canvas,
          style: function (f) {
            var p = f.properties;
            if (p.layer === "plot") {
              return { color: p.id === data.focus ? "#161616" : p.c, weight: p.id === data.focus ? 3 : 1,
                       fillColor: p.c, fillOpacity: 0.55 };
            }
            return { color: p.layer === "cemetery" ? "#3a3a3a" : "#6a6af4", weight: p.layer === "alley" ? 1 : 2,
                     dashArray: p.layer === "alley" ? "4 3" : null, fill: false, interactive: false };
          },
          onEachFeature: function (f, lyr) {
            var p = f.properties;
            if (p.layer !== "plot") { return; }
            if (p.id === data.focus) { focus = lyr; }
            lyr.bindPopup(function () {
              var box = document.createElement("div");
              box.appendChild(text("strong", p.n));
              box.appendChild(document.createElement("br"));
              box.appendChild(document.createTextNode(p.k + " — " + ((labels.legend || {})[p.s] || p.s) + " — " +
                                                      p.p + " " + (labels.places || "")));
              box.appendChild(document.createElement("br"));
              var a = text("a", labels.open || "Open");
              a.href = data.sheet.replace(/\/0$/, "/" + p.id);
              box.appendChild(a);
              return box;
            });
          }
        }).addTo(map);
        if (focus && focus.getBounds) { map.fitBounds(focus.getBounds(), { maxZoom: 21, padding: [60, 60] }); }
        else if (layer.getBounds().isValid()) {  /* the portal's maps stop at zoom 18: a cemetery needs closer */
          map.fitBounds(layer.getBounds(), { maxZoom: 21, padding: [20, 20] });
        }
        map.getContainer().setAttribute("data-loaded", String(fc.features.length));
        window.cemeteryPlan = layer;
      });

    if (!data.draw || !L.Control || !L.Control.Draw) { return; }
    var words = labels.draw || {}, local = L.drawLocal;
    if (local && words.polygon) {  /* Leaflet.draw's own words, in the portal's language */
      local.draw.toolbar.buttons.polygon = words.polygon;
      local.draw.toolbar.buttons.rectangle = words.rectangle;
      local.draw.toolbar.actions.text = words.cancel;
      local.draw.toolbar.actions.title = words.cancel;
      local.draw.toolbar.finish.text = words.finish;
      local.draw.toolbar.finish.title = words.finish;
      local.draw.toolbar.undo.text = words.undo;
      local.draw.toolbar.undo.title = words.undo;
      local.draw.handlers.polygon.tooltip = { start: words.start, cont: words.cont, end: words.end };
      local.draw.handlers.rectangle.tooltip.start = words.start;
      local.draw.handlers.simpleshape.tooltip.end = words.finish;
      local.edit.toolbar.buttons.edit = words.edit;
      local.edit.toolbar.buttons.remove = words.remove;
      local.edit.toolbar.actions.save.text = words.save;
      local.edit.toolbar.actions.save.title = words.save;
      local.edit.toolbar.actions.cancel.text = words.cancel;
      local.edit.toolbar.actions.cancel.title = words.cancel;
      local.edit.toolbar.actions.clearAll.text = words.clear;
      local.edit.toolbar.actions.clearAll.title = words.clear;
    }
    var drawn = new L.FeatureGroup().addTo(map);
    map.addControl(new L.Control.Draw({
      draw: { polygon: { allowIntersection: false, showArea: false }, polyline: false, circle: false,
              circlemarker: false, marker: false, rectangle: { showArea: false } },
      edit: { featureGroup: drawn, remove: true }
    }));
    function publish() {
      var value = "";
      drawn.eachLayer(function (lyr) { value = JSON.stringify(lyr.toGeoJSON().geometry); });
      Array.prototype.forEach.call(document.querySelectorAll("input.drawn-geometry"), function (input) {
        input.value = value;
      });
      var status = document.getElementById("drawn-status");
      if (status) { status.textContent = value ? (labels.drawn || "") : ""; }
    }
    map.on(L.Draw.Event.CREATED, function (ev) {
      drawn.clearLayers();
      drawn.addLayer(ev.layer);
      publish();
    });
    map.on(L.Draw.Event.EDITED, publish);
    map.on(L.Draw.Event.DELETED, publish);
  });
}());
