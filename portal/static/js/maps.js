/* Every map of the portal (portal/maps.py): reads the JSON of each <div class="portal-map" data-map='…'>, draws the
   base layer with its attribution, a scale, the outlines and labelled points of the configuration, sets the view,
   then fires "portal:map" on the div (bubbling; detail: {map, config}) for the service's own script. Built at
   DOMContentLoaded, after every deferred script has run, so the services' listeners are in place. */
(function () {
  "use strict";
  window.portalMaps = window.portalMaps || {};

  function build(el) {
    var L = window.L, config;
    try { config = JSON.parse(el.getAttribute("data-map")); } catch (e) { return; }
    var map = L.map(el, { maxZoom: config.maxZoom || 19, zoomSnap: 0.25 });
    map.attributionControl.setPrefix(false);
    if (config.basemap) {
      L.tileLayer(config.basemap.url, {
        attribution: config.basemap.attribution, maxZoom: config.maxZoom || 19,
        maxNativeZoom: config.basemap.maxNativeZoom || 19
      }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    var view = config.view || {};
    if (view.bounds) { map.fitBounds(view.bounds, { maxZoom: 18, padding: [30, 30] }); }
    else { map.setView(view.center || [48.3, 4.1], view.zoom || 9); }
    (config.outlines || []).forEach(function (o) {
      L.geoJSON(o.geojson, { style: o.style || {}, interactive: false }).addTo(map);
    });
    (config.points || []).forEach(function (p) {
      var marker = L.circleMarker([p.lat, p.lon], Object.assign({ radius: 7, weight: 2, fillOpacity: 0.6 }, p.style || {}));
      if (p.label) {  /* a node, not a string: Leaflet would read a string as HTML */
        var text = document.createElement("span");
        text.textContent = p.label;
        marker.bindTooltip(text, { permanent: true, direction: "right" });
      }
      marker.addTo(map);
    });
    if (el.id) { window.portalMaps[el.id] = map; }
    el.dispatchEvent(new CustomEvent("portal:map", { bubbles: true, detail: { map: map, config: config } }));
  }

  var built = false;
  function buildAll() {
    if (built || !window.L) { return; }
    built = true;
    Array.prototype.forEach.call(document.querySelectorAll(".portal-map[data-map]"), build);
  }
  /* Deferred scripts run while readyState is "interactive", before DOMContentLoaded: wait for it (or for "load"),
     so that the scripts after this one have added their listeners. */
  if (document.readyState === "complete") { buildAll(); }
  else {
    document.addEventListener("DOMContentLoaded", buildAll);
    window.addEventListener("load", buildAll);
  }
}());
