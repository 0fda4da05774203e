/* Land-registry map document (/s/cadastre/carte, in an iframe of the service page), drawn by portal/static/js/maps.js
   over the base layer; this adds what is the cadastre's own (config.data):
   - the plan's vector tiles (commune and section outlines from low zooms, parcels from 14, buildings from 15), fetched
     with a grant (portal/grants.py) renewed at half its life, and when the map moves or the tab comes back with a
     grant older than that (timers sleep with the computer);
   - a click on a parcel: its whole outline (from the API: tiles clip it) drawn in red, and the page around the map
     told (postMessage, same origin only), which fills its side panel;
   - the section codes written at their representative point from data.labelZoom;
   - « Plan fictif de démonstration » in a corner when the plan is the generated demo one. */
(function () {
  "use strict";
  document.addEventListener("portal:map", function (e) {
    var L = window.L, map = e.detail.map, data = e.detail.config.data || {};
    if (!data.tiles) { return; }
    var grid = L.vectorGrid.protobuf(data.tiles, {
      vectorTileLayerStyles: data.styles, interactive: true, maxZoom: data.maxZoom, maxNativeZoom: 18
    }).addTo(map);

    var selected = data.selected ? L.geoJSON(data.selected, {style: data.selectedStyle, interactive: false}).addTo(map)
      : null;
    var wanted = null;
    if (data.selectedId) { map.getContainer().dataset.selected = data.selectedId; }
    grid.on("click", function (ev) {
      var id = ev.layer && ev.layer.properties && ev.layer.properties.id;
      if (!id || !/^[0-9A-Z]{14}$/.test(id)) { return; }
      wanted = id;
      if (window.parent !== window) {
        window.parent.postMessage({type: "cadastre-parcel", id: id}, window.location.origin);
      }
      fetch(data.featureUrl.replace("IDU", id), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (feature) {
          if (wanted !== id) { return; }  /* a later click won */
          if (selected) { map.removeLayer(selected); }
          selected = L.geoJSON(feature, {style: data.selectedStyle, interactive: false}).addTo(map);
          map.getContainer().dataset.selected = id;
        })
        .catch(function () { /* gone or outside the territory: keep the current selection */ });
    });

    var issued = Date.now(), pending = false;
    function renew() {
      if (pending) { return; }
      pending = true;
      fetch(data.accessUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (d) { grid.setUrl(d.url, true); issued = Date.now(); })
        .catch(function () { /* signed out or offline: the next attempt will tell */ })
        .finally(function () { pending = false; });
    }
    function renewIfOld() { if (Date.now() - issued >= data.renewEveryMs) { renew(); } }
    setInterval(renew, data.renewEveryMs);
    map.on("movestart zoomstart", renewIfOld);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { renewIfOld(); }
    });

    var labels = L.layerGroup((data.labels || []).map(function (s) {
      var text = document.createElement("span");
      text.textContent = s[2];
      return L.marker([s[0], s[1]], {interactive: false, keyboard: false,
        icon: L.divIcon({className: "cadastre-section-label", html: text, iconSize: null})});
    }));
    function toggle() { if (map.getZoom() >= data.labelZoom) { labels.addTo(map); } else { labels.remove(); } }
    map.on("zoomend", toggle);
    toggle();

    if (data.demoMark) {
      var Mark = L.Control.extend({
        onAdd: function () {
          var div = L.DomUtil.create("div", "cadastre-demo-mark");
          div.textContent = data.demoMark;
          return div;
        }
      });
      new Mark({position: "topright"}).addTo(map);
    }
  });
}());
